"""The dbt seeds: copies of the contract's CSVs, and the emulation clusters (contract §5)."""

from __future__ import annotations

import csv
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from ingest.settings import dbt_project_dir, seeds_dir

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "contract"
CONTRACT_CSVS = ("indicators.csv", "provinces_2024.csv", "province_merger_2025.csv",
                 "communes_2025.csv")
YEARS = range(2019, 2026)

# Contract §5: the cluster "Duyên hải miền Trung và Tây Nguyên" in 2023 and 2024.
CENTRAL_CLUSTER = "Duyên hải miền Trung và Tây Nguyên"
CENTRAL_MEMBERS = {"51", "49", "56", "54", "52", "66", "68", "64", "62", "67"}
CENTRAL_ROLES = {2023: {"64": "truong", "51": "pho"}, 2024: {"56": "truong", "66": "pho"}}
# Hà Nội, Hải Phòng, Đà Nẵng, TP. Hồ Chí Minh, Cần Thơ: their own cluster, in no regional one.
CITIES = {"01": "Hà Nội", "31": "Hải Phòng", "48": "Đà Nẵng", "79": "TP. Hồ Chí Minh",
          "92": "Cần Thơ"}


def read(name: str) -> list[dict[str, str]]:
    with open(seeds_dir() / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    """The seed's rows as committed (edited by hand after the generator)."""
    return read("emulation_clusters.csv")


@pytest.mark.parametrize("name", CONTRACT_CSVS)
def test_contract_csvs_are_exact_copies(name):
    if not CONTRACT_DIR.is_dir():
        pytest.skip(f"no contract folder at {CONTRACT_DIR}")
    assert (seeds_dir() / name).read_bytes() == (CONTRACT_DIR / name).read_bytes(), (
        f"seeds/{name} differs from the contract: run `make seeds`")


def test_every_province_in_one_cluster_each_year(rows):
    old_codes = {r["province_code"] for r in read("provinces_2024.csv")}
    new_codes = {r["new_code"] for r in read("province_merger_2025.csv")}
    assert (len(old_codes), len(new_codes)) == (63, 34)
    assert {int(r["year"]) for r in rows} == set(YEARS)
    for year in YEARS:
        counts = Counter(r["province_code"] for r in rows if int(r["year"]) == year)
        assert set(counts) == (new_codes if year >= 2025 else old_codes), year
        assert set(counts.values()) == {1}, f"{year}: a province in two clusters"


def test_one_leader_and_one_deputy_per_cluster_and_year(rows):
    roles = Counter((r["year"], r["cluster_code"], r["role"]) for r in rows if r["role"])
    groups = {(r["year"], r["cluster_code"]) for r in rows}
    assert {r["role"] for r in rows} <= {"truong", "pho", ""}
    for year, cluster in groups:
        assert roles[(year, cluster, "truong")] == 1, (year, cluster)
        assert roles[(year, cluster, "pho")] == 1, (year, cluster)
    names = {(r["cluster_code"], r["cluster_name"]) for r in rows}
    assert len(names) == len({code for code, _ in names})  # one name per code


def members(rows, year: int, cluster_name: str) -> set[str]:
    return {r["province_code"] for r in rows
            if int(r["year"]) == year and r["cluster_name"] == cluster_name}


def test_contract_cluster_facts(rows):
    for year, roles in CENTRAL_ROLES.items():
        central = [r for r in rows
                   if int(r["year"]) == year and r["cluster_name"] == CENTRAL_CLUSTER]
        assert {r["province_code"] for r in central} == CENTRAL_MEMBERS, year
        assert {r["province_code"]: r["role"] for r in central if r["role"]} == roles, year
        assert {r["source"] for r in central} == {"sourced"}, year
    for year in range(2019, 2025):
        (ha_nam,) = [r for r in rows if r["year"] == str(year) and r["province_code"] == "35"]
        assert ha_nam["cluster_name"] == "Đồng bằng sông Hồng", year


def test_centrally_run_cities_form_their_own_cluster(rows):
    provinces = {r["province_code"]: r["province_name"] for r in read("provinces_2024.csv")}
    assert {code: provinces[code] for code in CITIES} == CITIES
    for year in YEARS:
        cities = {r["cluster_code"] for r in rows
                  if int(r["year"]) == year and r["province_code"] in CITIES}
        assert len(cities) == 1, year
        (code,) = cities
        assert {r["province_code"] for r in rows
                if int(r["year"]) == year and r["cluster_code"] == code} == set(CITIES), year


def test_tay_nam_bo_is_the_mekong_delta_without_can_tho(rows):
    delta = {r["province_code"] for r in read("provinces_2024.csv")
             if r["region_code"] == "DBSCL"}
    for year in range(2019, 2025):
        assert members(rows, year, "Tây Nam Bộ") == delta - {"92"}, year
    assert len(delta - {"92"}) == 12


def test_dong_nam_bo_holds_its_region_and_binh_thuan(rows):
    region = {r["province_code"] for r in read("provinces_2024.csv") if r["region_code"] == "DNB"}
    for year in range(2019, 2025):
        dong_nam_bo = members(rows, year, "Đông Nam Bộ")
        assert region - {"79"} <= dong_nam_bo and "60" in dong_nam_bo, year
        assert "79" not in dong_nam_bo, year


def test_sourced_and_placeholder_rows(rows):
    assert {r["source"] for r in rows} == {"sourced", "placeholder"}
    assert all(r["source_note"].strip() for r in rows)
    # all of 2025 is a placeholder
    assert {r["source"] for r in rows if r["year"] == "2025"} == {"placeholder"}
    # leaders and deputies are sourced only where §5 names them
    sourced_roles = {(int(r["year"]), r["province_code"]): r["role"] for r in rows
                     if r["role"] and r["source"] == "sourced"}
    assert sourced_roles == {(year, code): role for year, roles in CENTRAL_ROLES.items()
                             for code, role in roles.items()}
    # §5 reports the five cities' cluster and Tây Nam Bộ for 2022: their members are sourced
    for province in ("01", "80"):
        (cluster,) = {r["cluster_code"] for r in rows
                      if r["year"] == "2022" and r["province_code"] == province}
        assert {r["source"] for r in rows if r["year"] == "2022"
                and r["cluster_code"] == cluster and not r["role"]} == {"sourced"}, province
    # a membership inferred from the regions is a placeholder
    (lang_son,) = [r for r in rows if r["year"] == "2021" and r["province_code"] == "20"]
    assert lang_son["source"] == "placeholder"


def load_generator():
    path = dbt_project_dir() / "scripts" / "generate_emulation_clusters.py"
    spec = importlib.util.spec_from_file_location("generate_emulation_clusters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_writes_a_seed_that_follows_the_contract(tmp_path):
    """The seed is edited by hand; its generator must still produce one these tests accept."""
    generator = load_generator()
    output = tmp_path / "emulation_clusters.csv"
    generator.main(output)
    with open(output, encoding="utf-8", newline="") as f:
        generated = list(csv.DictReader(f))
    assert list(generated[0]) == generator.COLUMNS
    test_every_province_in_one_cluster_each_year(generated)
    test_one_leader_and_one_deputy_per_cluster_and_year(generated)
    test_contract_cluster_facts(generated)
    test_centrally_run_cities_form_their_own_cluster(generated)
    test_tay_nam_bo_is_the_mekong_delta_without_can_tho(generated)
    test_dong_nam_bo_holds_its_region_and_binh_thuan(generated)
    test_sourced_and_placeholder_rows(generated)


def test_codes_stay_text(rows):
    assert all(len(r["province_code"]) == 2 for r in rows)
    assert read("provinces_2024.csv")[0]["province_code"] == "01"
