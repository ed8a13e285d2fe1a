"""Write seeds/emulation_clusters.csv: emulation cluster membership and roles, 2019-2025.

Reference data, editable by hand afterwards: this script gives a start that follows contract §5.
- The five centrally-run cities (Hà Nội, Hải Phòng, Đà Nẵng, TP. Hồ Chí Minh, Cần Thơ) form
  their own cluster and are in no regional cluster.
- "Duyên hải miền Trung và Tây Nguyên" has exactly the ten provinces the contract names; Gia Lai
  leads in 2023 (Quảng Ngãi deputy) and Khánh Hòa in 2024 (Đắk Lắk deputy).
- "Đông Nam Bộ" holds the provinces of region DNB in provinces_2024.csv, and Bình Thuận, which
  hosted its meeting in May 2025; Ninh Thuận, the only province left over, sits beside it.
- "Tây Nam Bộ" holds the 12 Mekong Delta provinces without Cần Thơ.
- Every other province's cluster is its region in provinces_2024.csv (Hà Nam: Đồng bằng sông
  Hồng). 2025 uses the 34 new codes: a new province takes the region of the old province whose
  name it keeps, else of the one holding its centre (same code).

Column `source` says what a public fact supports: `sourced` when the row's membership that year
and its role are both stated by a public report (`source_note` names it), `placeholder` when
any of it is inferred. Leaders and deputies nobody published rotate along the cluster's members
in code order (leader of year Y: member (Y - 2019) mod n, deputy: the next one); all of them,
and all of 2025, are placeholders.

Run: .venv/bin/python dbt_project/scripts/generate_emulation_clusters.py [output.csv]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FIRST_YEAR, OLD_LAST_YEAR, NEW_YEAR = 2019, 2024, 2025
COLUMNS = ["cluster_code", "cluster_name", "year", "province_code", "role", "source",
           "source_note"]

CITIES = "TPTW"
CLUSTER_NAMES = {
    CITIES: "Các thành phố trực thuộc Trung ương",
    "DBSH": "Đồng bằng sông Hồng",
    "MNPB": "Trung du và miền núi phía Bắc",
    "BTB": "Bắc Trung Bộ",
    "DHMT-TN": "Duyên hải miền Trung và Tây Nguyên",
    "DNB": "Đông Nam Bộ",
    "TNB": "Tây Nam Bộ",
}
# The five centrally-run cities; their codes are the same before and after 1 July 2025.
CITY_CODES = {"01", "31", "48", "79", "92"}
# Region of provinces_2024.csv -> cluster.
REGION_CLUSTERS = {"DBSH": "DBSH", "MNPB": "MNPB", "BTB": "BTB", "DHMT": "DHMT-TN",
                   "TN": "DHMT-TN", "DNB": "DNB", "DBSCL": "TNB"}
# Provinces whose cluster is not their region's: Bình Thuận hosted Đông Nam Bộ in May 2025;
# Ninh Thuận, between Bình Thuận and the central cluster's ten, goes with its neighbour.
MOVED_2024 = {"58": "DNB", "60": "DNB"}
# Contract §5: the central cluster's ten members in 2023 and 2024.
CENTRAL_MEMBERS = {"49", "51", "52", "54", "56", "62", "64", "66", "67", "68"}

# (cluster, year) -> public fact about its members: every member row without an invented role
# is sourced.
SOURCED_MEMBERS = {
    (CITIES, 2022): "contract §5: cluster of the five centrally-run cities, reported 2022",
    ("TNB", 2022): "contract §5: Tây Nam Bộ, the 12 Mekong Delta provinces without Cần Thơ, "
                   "reported 2022",
    ("DHMT-TN", 2023): "contract §5: the ten members in 2023",
    ("DHMT-TN", 2024): "contract §5: the ten members, as in 2023",
}
# Đông Nam Bộ reported 2024: its provinces are region DNB without TP. Hồ Chí Minh (a city).
SOURCED_REGION_MEMBERS = {
    ("DNB", 2024): ("DNB", "contract §5: provinces of Đông Nam Bộ, reported 2024"),
}
# (province, cluster) -> fact with no year (every year of the 63 codes).
SOURCED_ANY_YEAR = {("35", "DBSH"): "contract §5: Hà Nam belongs to Đồng bằng sông Hồng"}
# (cluster, year) -> (leader, deputy, fact).
SOURCED_ROLES = {
    ("DHMT-TN", 2023): ("64", "51", "contract §5: Gia Lai leads, Quảng Ngãi deputy in 2023"),
    ("DHMT-TN", 2024): ("56", "66", "contract §5: Khánh Hòa leads, Đắk Lắk deputy in 2024"),
}
PLACEHOLDER_NOTES = {
    "role": "leader or deputy not published: rotating placeholder",
    "new_codes": "2025 (34 new codes): clusters not published yet",
}
# Why a member row without a public fact sits where it does.
MEMBER_NOTES = {
    CITIES: "membership as reported for 2022, assumed for this year",
    "TNB": "membership as reported for 2022, assumed for this year",
    "DHMT-TN": "membership as in 2023, assumed for this year",
    "DNB": "region Đông Nam Bộ of provinces_2024.csv, assumed for this year",
}
PROVINCE_NOTES = {
    "58": "Ninh Thuận placed beside Bình Thuận: no public source",
    "60": "Bình Thuận hosted Đông Nam Bộ's meeting in May 2025 (contract §5): assumed",
}
REGION_NOTE = "membership inferred from the region in provinces_2024.csv"
# 2025 rows worth a second look when the clusters are published.
PROVINCE_NOTES_2025 = {
    "46": "Huế is a centrally-run city since 1 January 2025: check whether it joined the cities",
}


def read_csv(name: str) -> list[dict[str, str]]:
    with open(SEEDS / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def clusters_2024(provinces: list[dict[str, str]]) -> dict[str, list[str]]:
    """Cluster code -> member codes (the 63 codes), in code order."""
    clusters: dict[str, list[str]] = {code: [] for code in CLUSTER_NAMES}
    for row in provinces:
        code = row["province_code"]
        cluster = (CITIES if code in CITY_CODES
                   else MOVED_2024.get(code) or REGION_CLUSTERS[row["region_code"]])
        clusters[cluster].append(code)
    return {code: sorted(members) for code, members in clusters.items()}


def clusters_2025(provinces: list[dict[str, str]],
                  merger: list[dict[str, str]]) -> dict[str, list[str]]:
    """Cluster code -> member codes (the 34 codes): the region of the old province whose name
    the new one keeps, else of the old province with the same code (its centre)."""
    region = {r["province_code"]: r["region_code"] for r in provinces}
    named = {r["new_code"]: r["old_code"] for r in merger if r["old_name"] == r["new_name"]}
    clusters: dict[str, list[str]] = {code: [] for code in CLUSTER_NAMES}
    for new_code in sorted({r["new_code"] for r in merger}):
        old_code = named.get(new_code, new_code)
        cluster = CITIES if new_code in CITY_CODES else REGION_CLUSTERS[region[old_code]]
        clusters[cluster].append(new_code)
    return clusters


def rows_for(year: int, clusters: dict[str, list[str]],
             regions: dict[str, str]) -> list[list[str]]:
    rows = []
    for cluster, members in clusters.items():
        step = year - FIRST_YEAR
        leader, deputy = members[step % len(members)], members[(step + 1) % len(members)]
        sourced_roles = SOURCED_ROLES.get((cluster, year))
        if sourced_roles:
            leader, deputy, role_fact = sourced_roles
        for code in members:
            role = "truong" if code == leader else "pho" if code == deputy else ""
            fact = member_fact(cluster, year, code, regions)
            if year >= NEW_YEAR:
                source, note = "placeholder", PLACEHOLDER_NOTES["new_codes"]
                if code in PROVINCE_NOTES_2025:
                    note += "; " + PROVINCE_NOTES_2025[code]
            elif role and not sourced_roles:
                source, note = "placeholder", PLACEHOLDER_NOTES["role"]
            elif fact is None:
                note = PROVINCE_NOTES.get(code) or MEMBER_NOTES.get(cluster, REGION_NOTE)
                source = "placeholder"
            else:
                source, note = "sourced", role_fact if role else fact
            rows.append([cluster, CLUSTER_NAMES[cluster], str(year), code, role, source, note])
    return rows


def member_fact(cluster: str, year: int, code: str, regions: dict[str, str]) -> str | None:
    """The public fact placing `code` in `cluster` that year, or None."""
    if (cluster, year) in SOURCED_MEMBERS:
        return SOURCED_MEMBERS[(cluster, year)]
    if (cluster, year) in SOURCED_REGION_MEMBERS:
        region, fact = SOURCED_REGION_MEMBERS[(cluster, year)]
        return fact if regions.get(code) == region else None
    return SOURCED_ANY_YEAR.get((code, cluster)) if year <= OLD_LAST_YEAR else None


def check(clusters: dict[str, list[str]], codes: set[str]) -> None:
    members = [c for rotation in clusters.values() for c in rotation]
    assert len(members) == len(set(members)), "a province is in two clusters"
    assert set(members) == codes, set(members) ^ codes
    assert all(len(rotation) >= 2 for rotation in clusters.values()), "a cluster of one"


def build_rows() -> list[list[str]]:
    provinces = read_csv("provinces_2024.csv")
    merger = read_csv("province_merger_2025.csv")
    regions = {r["province_code"]: r["region_code"] for r in provinces}
    old, new = clusters_2024(provinces), clusters_2025(provinces, merger)
    check(old, set(regions))
    check(new, {r["new_code"] for r in merger})
    assert set(old["DHMT-TN"]) == CENTRAL_MEMBERS, old["DHMT-TN"]
    rows = [r for y in range(FIRST_YEAR, OLD_LAST_YEAR + 1) for r in rows_for(y, old, regions)]
    return rows + rows_for(NEW_YEAR, new, regions)


def main(output: Path = SEEDS / "emulation_clusters.csv") -> None:
    with open(output, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(build_rows())


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:2]))
