"""A deterministic synthetic corpus of province report files for the benchmark.

Round 1 is one reporting history of the whole country:

* the 63 old provinces, years 2016-2024, annual (`YYYY`: ChiTieu + ThiDua + GiamNgheo) and
  half-year (`YYYY-6T`: ChiTieu + GiamNgheo), plus `2025-6T` on the old codes;
* the 34 new provinces, `2025` annual in the term 2025-2030 (their GiamNgheo rows are real
  communes of the province from `communes_2025.csv`, as many as the districts of the old
  provinces that merged into it);
* ~11 districts per old province (6..16, ~700 in all), the same names every period;
* messy workbooks as offices make them (`write_xlsx(messy=True)`: titles, merged cells, STT,
  a blank row, total row, notes and signatures), some with numeric cells instead of Vietnamese
  number text, some with ASCII headers; ~20 % of the half-year reports arrive as `.csv`
  (GiamNgheo only, `;` or `,`, with or without BOM);
* a dozen bad files beside the good ones (households out of poverty > poor households, unknown
  indicator code, unknown province code, folder differing from the declared province, a
  negative count, self-assessed points above the maximum).

**Scale.** Scale N is rounds 1..N: every round after the first resubmits every report of round
1 (same province and period, same layout, one to three numbers corrected by a few percent, file
name `..._lan<r>`), as offices do when they correct a report. So N multiplies the files received
and the rows in every raw table (term, emulation and poverty rows alike) by N, while the marts'
output keeps one current version per (province, period): the marts have to read and rank N
versions of everything, which is how a warehouse grows over the years. (More districts would
have grown only the poverty rows.)

Generating xlsx with openpyxl takes ~0.1 s a file, so every round is generated once and cached
on disk under `<cache>/seed<seed>[-quick]/round<r>/` with a `manifest.json`; a corpus of scale N
reuses the cached rounds 1..N. Each file's content depends only on (seed, round, province,
period), so generation runs in parallel and is reproducible.

Rounds above `GENERATED_ROUNDS` (the 16x deadline burst of issue 23 would take ~30 min of
openpyxl) are re-stamped copies of rounds 2..4 in turn (~3 ms a file): the same report saved
again, the workbook's revision number (docProps/core.xml) or a csv's trailing blank lines set
to the round, so every file has bytes of its own (a new version, not a duplicate) while the
figures are those of the round it copies.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
CORPUS_VERSION = 3  # bump when the generator changes, to invalidate the caches
GENERATED_ROUNDS = 4  # rounds written by openpyxl; later ones are re-stamped copies (see above)
OLD_YEARS = range(2016, 2025)
BAD_KINDS = ("out_gt_poor", "unknown_indicator", "unknown_province", "folder_mismatch",
             "negative_count", "points_over_max")
# Layout the generator writes (used by the naive peer and the floor, which know it in advance):
XLSX_INFO_FIRST_ROW = 2  # 0-based index of the first ThongTin label row in a messy workbook
XLSX_HEADER_ROW = 3  # 0-based index of the header row of a data sheet in a messy workbook
XLSX_KEY_COLUMN = 1  # 0-based column of the key (code / district) in a messy data sheet: after STT

_DISTRICT_WORDS = ("Huyện", "Huyện", "Huyện", "Thị xã", "Thành phố")
_DISTRICT_ROOTS = (
    "Bắc Bình", "Tuy Phong", "Hàm Thuận", "Hàm Tân", "Đức Linh", "Tánh Linh", "Phú Quý",
    "La Gi", "Sơn Tịnh", "Bình Sơn", "Tư Nghĩa", "Mộ Đức", "Đức Phổ", "Ba Tơ", "Minh Long",
    "Lý Sơn", "Yên Thế", "Lục Nam", "Sơn Động", "Tân Yên", "Hiệp Hòa", "Việt Yên", "Lạng Giang",
    "Mường Lát", "Quan Hóa", "Bá Thước", "Cẩm Thủy", "Thạch Thành", "Vĩnh Lộc", "Hoằng Hóa",
    "Châu Thành", "Chợ Gạo", "Gò Công", "Cái Bè", "Cai Lậy", "Tân Phước", "Đầm Dơi", "Năm Căn",
    "Ngọc Hiển", "Trần Văn Thời", "U Minh", "Thới Bình", "Krông Pắc", "Ea Kar", "Cư M'gar",
)


@dataclass
class FileSpec:
    """One file of the corpus, as the generator wrote it (also what peer and floor rely on)."""

    rel_path: str  # <province_code>/<name>, relative to the round folder (and to the inbox)
    province_code: str  # the folder: the sender
    period: str
    round: int
    fmt: str  # xlsx | csv
    sheets: list[str]  # contract sheet names of the data sheets, in workbook order
    bad: str | None = None  # the defect of a deliberately bad file
    numeric_cells: bool = False
    ascii_headers: bool = False
    csv_delimiter: str = ";"
    info_rows: int = 0  # ThongTin label rows (csv: lines before the blank line)
    data_rows: int = 0  # rows the generator wrote into data sheets (incl. total rows)


@dataclass
class Corpus:
    root: Path  # the cache folder of this seed (rounds are subfolders)
    seed: int
    scale: int
    quick: bool
    files: list[tuple[Path, FileSpec]]  # absolute path in the cache, spec
    generate_seconds: float  # spent generating missing rounds in this call (0 when all cached)
    cached_rounds: list[int]

    @property
    def data_rows(self) -> int:
        return sum(spec.data_rows for _, spec in self.files)

    def round_files(self, rounds) -> list[tuple[Path, FileSpec]]:
        wanted = set(rounds)
        return [(p, s) for p, s in self.files if s.round in wanted]

    def link_into(self, inbox: Path, rounds=None) -> list[Path]:
        """Copy files of the given rounds into `<inbox>/<province>/`, keeping their modification
        times (so they have settled). Not hard links: the inbox refuses a file with more than one
        link unread (issue 24)."""
        return [corpus_link(path, inbox / spec.rel_path)
                for path, spec in (self.files if rounds is None else self.round_files(rounds))]


def corpus_link(source: Path, target: Path) -> Path:
    """`source` copied to `target` with its modification time. A hard link would be cheaper, but
    the inbox refuses files with more than one link unread (issue 24 item 7)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    shutil.copy2(source, target)
    return target


# ---------------------------------------------------------------- the plan

def _districts(seed: int) -> dict[str, list[str]]:
    """Old province code -> its districts (6..16, unique names within the province)."""
    from ingest.reference import provinces_old

    rng = random.Random(f"districts:{seed}")
    out = {}
    for code in sorted(provinces_old()):
        n = rng.randint(6, 16)
        names: list[str] = []
        for root in rng.sample(_DISTRICT_ROOTS, n):
            names.append(f"{rng.choice(_DISTRICT_WORDS)} {root}")
        out[code] = names
    return out


def _merged_into() -> dict[str, list[str]]:
    """New code -> old codes that merged into it."""
    import csv

    from ingest.settings import seeds_dir

    groups: dict[str, list[str]] = {}
    with open(seeds_dir() / "province_merger_2025.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["new_code"], []).append(row["old_code"])
    return groups


def _plan(seed: int, quick: bool) -> list[dict]:
    """(province, period, format, bad kind) of every round-1 file, in a fixed order."""
    from ingest.reference import provinces_new, provinces_old

    rng = random.Random(f"plan:{seed}")
    old_codes = sorted(provinces_old())
    new_codes = sorted(provinces_new())
    years = OLD_YEARS
    if quick:
        old_codes = old_codes[:3] + ["60"]
        new_codes = ["68"]
        years = range(2023, 2025)
    plan = []
    for code in old_codes:
        for year in years:
            for period in (str(year), f"{year}-6T"):
                plan.append({"code": code, "period": period})
        plan.append({"code": code, "period": "2025-6T"})
    for code in new_codes:
        plan.append({"code": code, "period": "2025"})
    for item in plan:
        half = item["period"].endswith("-6T")
        item["fmt"] = "csv" if half and rng.random() < 0.2 else "xlsx"
        item["numeric_cells"] = item["fmt"] == "xlsx" and rng.random() < 0.2
        item["ascii_headers"] = item["fmt"] == "xlsx" and rng.random() < 0.05
    # bad files: extra files beside good ones (the good report of that period stays complete)
    n_bad = 1 if quick else 2 * len(BAD_KINDS)
    picks = rng.sample([p for p in plan if p["fmt"] == "xlsx" and "-" not in p["period"]
                        and p["period"] != "2025"], n_bad)
    for n, pick in enumerate(picks):
        plan.append({**pick, "bad": BAD_KINDS[n % len(BAD_KINDS)]})
    return plan


def _file_name(item: dict, round_no: int) -> str:
    kind = "6thang" if item["period"].endswith("-6T") else "nam"
    year = item["period"][:4]
    suffix = f"_loi_{item['bad']}" if item.get("bad") else ""
    lan = f"_lan{round_no}" if round_no > 1 else ""
    ext = item["fmt"]
    return f"BC_{item['code']}_{kind}_{year}{suffix}{lan}.{ext}"


def _write_one(args: tuple) -> dict:
    """Generate one file (runs in a worker process). Returns its FileSpec as a dict."""
    seed, round_no, item, round_dir, districts = args
    from ingest.model import EMULATION, POVERTY, TERM
    from ingest.reference import provinces_old
    from ingest.samples import random_report, write_csv, write_xlsx

    code, period = item["code"], item["period"]
    # the content of round 1; later rounds correct a few of its numbers (see _correct)
    rng = random.Random(f"file:{seed}:1:{code}:{period}:{item.get('bad')}")
    if item["fmt"] == "csv":
        sheets: tuple[str, ...] = (POVERTY,)
    else:
        sheets = (TERM, EMULATION, POVERTY)  # ThiDua is dropped for half-year reports
    report = random_report(rng, code, period, districts=len(districts), sheets=sheets)
    for row, name in zip(report.poverty_rows or [], districts, strict=True):
        row["district_name"] = name
    if rng.random() < 0.3:
        report.poverty_total = None
    bad = item.get("bad")
    if bad == "out_gt_poor":
        row = report.poverty_rows[1]
        row["households_out_of_poverty"] = row["poor_households_start"] + 40
    elif bad == "unknown_indicator":
        report.term_rows[2]["code"] = "CT99"
    elif bad == "unknown_province":
        report.info_overrides["Mã tỉnh"] = "99"
    elif bad == "folder_mismatch":
        other = next(c for c in sorted(provinces_old()) if c != code)
        report.info_overrides["Mã tỉnh"] = other
    elif bad == "negative_count":
        report.poverty_rows[0]["charity_homes"] = -3
    elif bad == "points_over_max" and report.emulation_rows:
        report.emulation_rows[0]["self"] = report.emulation_rows[0]["max"] + 5
    if round_no > 1:
        _correct(report, random.Random(f"fix:{seed}:{round_no}:{code}:{period}"))
    rel = f"{code}/{_file_name(item, round_no)}"
    path = Path(round_dir) / rel
    if item["fmt"] == "csv":
        delimiter = rng.choice([";", ";", ","])
        write_csv(report, path, delimiter=delimiter, bom=rng.random() < 0.5)
    else:
        delimiter = ";"
        write_xlsx(report, path, messy=True, vn_text=not item["numeric_cells"],
                   ascii_headers=item["ascii_headers"])
    from ingest.samples import info_rows, table_rows

    data_sheets = [k for k, rows in ((TERM, report.term_rows), (EMULATION, report.emulation_rows),
                                     (POVERTY, report.poverty_rows)) if rows is not None]
    from ingest.read.layout import SHEETS

    spec = FileSpec(
        rel_path=rel, province_code=code, period=period, round=round_no, fmt=item["fmt"],
        sheets=[SHEETS[k].sheet_name for k in data_sheets], bad=bad,
        numeric_cells=item["numeric_cells"], ascii_headers=item["ascii_headers"],
        csv_delimiter=delimiter, info_rows=len(info_rows(report)),
        data_rows=sum(len(table_rows(report, k)) - 1 for k in data_sheets),
    )
    return asdict(spec)


_CORRECTABLE = ("households_out_of_near_poverty", "policy_loan_households", "livelihood_packages",
                "five_no_three_clean_households", "charity_homes_vnd")


def _correct(report, rng: random.Random) -> None:
    """A resubmission: one to three numbers of the report corrected by 1-5 %."""
    rows = report.poverty_rows or []
    for _ in range(rng.randint(1, 3)):
        if rows and rng.random() < 0.8:
            row = rng.choice(rows)
            name = rng.choice(_CORRECTABLE)
            value = row[name] * rng.choice([0.95, 0.97, 0.99, 1.01, 1.03, 1.05])
            row[name] = round(value, 1) if isinstance(row[name], float) else max(1, round(value))
        elif report.term_rows:
            row = rng.choice(report.term_rows)
            if isinstance(row.get("actual"), int):
                row["actual"] += rng.choice([-20, -10, 10, 20])


def _district_list(item: dict, districts: dict[str, list[str]], merged: dict[str, list[str]]):
    if item["period"] == "2025":
        # a new province reports communes (contract §2): real ones of the province, as many as
        # the districts of its old provinces (so the poverty rows keep their scale)
        from ingest.reference import communes_of

        count = sum(len(districts.get(old, [])) for old in merged.get(item["code"],
                                                                      [item["code"]]))
        names = sorted(c.name for found in communes_of(item["code"]).values() for c in found)
        rng = random.Random(f"communes:{item['code']}")
        return rng.sample(names, min(count, len(names)))
    return districts[item["code"]]


def _generate_round(seed: int, quick: bool, round_no: int, round_dir: Path, workers: int) -> None:
    plan = _plan(seed, quick)
    if round_no > 1:
        plan = [p for p in plan if not p.get("bad")]  # resubmissions of the good reports
    districts = _districts(seed)
    merged = _merged_into()
    tmp = round_dir.with_name(round_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    jobs = [(seed, round_no, item, str(tmp), _district_list(item, districts, merged))
            for item in plan]
    if workers > 1 and len(jobs) > 20:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            specs = list(pool.map(_write_one, jobs, chunksize=16))
    else:
        specs = [_write_one(job) for job in jobs]
    (tmp / MANIFEST).write_text(json.dumps(
        {"version": CORPUS_VERSION, "seed": seed, "quick": quick, "round": round_no,
         "files": specs}, ensure_ascii=False, indent=0), encoding="utf-8")
    shutil.rmtree(round_dir, ignore_errors=True)
    os.replace(tmp, round_dir)


def _restamp_source(round_no: int) -> int:
    """The generated round a re-stamped round copies: 2, 3, 4, 2, ... (never round 1, which
    holds the bad files)."""
    return 2 + (round_no - 2) % (GENERATED_ROUNDS - 1)


def _restamp_round(round_no: int, round_dir: Path, source: list[tuple[Path, FileSpec]],
                   source_no: int) -> None:
    """Round `round_no` as re-stamped copies of the files of round `source_no`."""
    import zipfile

    tmp = round_dir.with_name(round_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    specs = []
    for path, spec in source:
        rel = spec.rel_path.replace(f"_lan{source_no}.", f"_lan{round_no}.")
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if spec.fmt == "csv":
            target.write_bytes(path.read_bytes() + b"\n" * round_no)  # blank lines: no rows
        else:
            with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as out:
                for info in src.infolist():
                    data = src.read(info)
                    if info.filename == "docProps/core.xml":
                        data = data.replace(b"</cp:coreProperties>", f"<cp:revision>{round_no}"
                                            "</cp:revision></cp:coreProperties>".encode())
                    out.writestr(info, data)
        specs.append({**asdict(spec), "rel_path": rel, "round": round_no})
    (tmp / MANIFEST).write_text(json.dumps(
        {"version": CORPUS_VERSION, "round": round_no, "restamped_from": source_no,
         "files": specs}, ensure_ascii=False, indent=0), encoding="utf-8")
    shutil.rmtree(round_dir, ignore_errors=True)
    os.replace(tmp, round_dir)


def _load_round(round_dir: Path) -> list[tuple[Path, FileSpec]] | None:
    manifest = round_dir / MANIFEST
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("version") != CORPUS_VERSION:
        return None
    files = [(round_dir / s["rel_path"], FileSpec(**s)) for s in data["files"]]
    if not all(p.exists() for p, _ in files):
        return None
    return files


def default_cache() -> Path:
    from ingest.settings import PROJECT_ROOT

    return Path(os.environ.get("LHPN_BENCH_CACHE") or PROJECT_ROOT / ".lhpn" / "bench-corpus")


def build_corpus(cache: Path | None = None, *, seed: int = 7, scale: int = 1, quick: bool = False,
                 workers: int | None = None, log=None) -> Corpus:
    """The corpus of `scale` rounds, generating (and caching) the rounds not yet on disk."""
    cache = Path(cache or default_cache())
    root = cache / f"seed{seed}{'-quick' if quick else ''}"
    workers = workers or max(1, os.cpu_count() or 1)
    files: list[tuple[Path, FileSpec]] = []
    rounds: dict[int, list[tuple[Path, FileSpec]]] = {}
    cached, spent = [], 0.0
    for round_no in range(1, scale + 1):
        round_dir = root / f"round{round_no}"
        loaded = _load_round(round_dir)
        if loaded is None:
            t0 = time.perf_counter()
            if round_no > GENERATED_ROUNDS:
                source = _restamp_source(round_no)
                if log:
                    log(f"re-stamping corpus round {source} as round {round_no} ...")
                _restamp_round(round_no, round_dir, rounds[source], source)
            else:
                if log:
                    log(f"generating corpus round {round_no} in {round_dir} ...")
                _generate_round(seed, quick, round_no, round_dir, workers)
            spent += time.perf_counter() - t0
            loaded = _load_round(round_dir)
            assert loaded is not None
        else:
            cached.append(round_no)
        rounds[round_no] = loaded
        files.extend(loaded)
    return Corpus(root, seed, scale, quick, files, spent, cached)


def extra_files(corpus: Corpus, count: int) -> list[tuple[Path, FileSpec]]:
    """Files outside the corpus for the one-new-file latency test: a mid-term review (GK-2023)
    per province, a new (province, period), so dropping it supersedes nothing."""
    from ingest.model import POVERTY, TERM
    from ingest.samples import random_report, write_xlsx

    codes = sorted({spec.province_code for _, spec in corpus.files
                    if not spec.period.startswith("2025")})[:count]
    districts = _districts(corpus.seed)
    out = []
    for code in codes:
        rel = f"{code}/BC_{code}_giua_ky_2023.xlsx"
        path = corpus.root / "extra" / rel
        rng = random.Random(f"extra:{corpus.seed}:{code}")
        report = random_report(rng, code, "GK-2023", districts=len(districts[code]),
                               sheets=(TERM, POVERTY))
        for row, name in zip(report.poverty_rows, districts[code], strict=True):
            row["district_name"] = name
        if not path.exists():
            write_xlsx(report, path, messy=True)
        out.append((path, FileSpec(rel, code, "GK-2023", 0, "xlsx", ["ChiTieu", "GiamNgheo"],
                                   data_rows=len(report.term_rows) + len(report.poverty_rows) + 1)))
    return out
