"""The dbt seeds: copies of the contract's CSVs, and the emulation clusters (contract §5)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from ingest.settings import seeds_dir

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "contract"
CONTRACT_CSVS = ("indicators.csv", "provinces_2024.csv", "province_merger_2025.csv")
YEARS = range(2019, 2026)

# Contract §5: the cluster "Duyên hải miền Trung và Tây Nguyên" in 2023 and 2024.
CENTRAL_CLUSTER = "Duyên hải miền Trung và Tây Nguyên"
CENTRAL_MEMBERS = {"51", "49", "56", "54", "52", "66", "68", "64", "62", "67"}
CENTRAL_ROLES = {2023: {"64": "truong", "51": "pho"}, 2024: {"56": "truong", "66": "pho"}}


def read(name: str) -> list[dict[str, str]]:
    with open(seeds_dir() / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def clusters() -> list[dict[str, str]]:
    return read("emulation_clusters.csv")


@pytest.mark.parametrize("name", CONTRACT_CSVS)
def test_contract_csvs_are_exact_copies(name):
    if not CONTRACT_DIR.is_dir():
        pytest.skip(f"no contract folder at {CONTRACT_DIR}")
    assert (seeds_dir() / name).read_bytes() == (CONTRACT_DIR / name).read_bytes(), (
        f"seeds/{name} differs from the contract: run `make seeds`")


def test_every_province_in_one_cluster_each_year(clusters):
    old_codes = {r["province_code"] for r in read("provinces_2024.csv")}
    new_codes = {r["new_code"] for r in read("province_merger_2025.csv")}
    assert (len(old_codes), len(new_codes)) == (63, 34)
    assert {int(r["year"]) for r in clusters} == set(YEARS)
    for year in YEARS:
        members = Counter(r["province_code"] for r in clusters if int(r["year"]) == year)
        assert set(members) == (new_codes if year >= 2025 else old_codes), year
        assert set(members.values()) == {1}, f"{year}: a province in two clusters"


def test_one_leader_and_one_deputy_per_cluster_and_year(clusters):
    roles = Counter((r["year"], r["cluster_code"], r["role"]) for r in clusters if r["role"])
    groups = {(r["year"], r["cluster_code"]) for r in clusters}
    assert {r["role"] for r in clusters} <= {"truong", "pho", ""}
    for year, cluster in groups:
        assert roles[(year, cluster, "truong")] == 1, (year, cluster)
        assert roles[(year, cluster, "pho")] == 1, (year, cluster)
    names = {(r["cluster_code"], r["cluster_name"]) for r in clusters if r["year"] == "2023"}
    assert len(names) == len({code for code, _ in names})  # one name per code in a year


def test_contract_cluster_facts(clusters):
    for year, roles in CENTRAL_ROLES.items():
        central = [r for r in clusters
                   if int(r["year"]) == year and r["cluster_name"] == CENTRAL_CLUSTER]
        assert {r["province_code"] for r in central} == CENTRAL_MEMBERS, year
        assert {r["province_code"]: r["role"] for r in central if r["role"]} == roles, year
    for year in range(2019, 2025):
        (ha_nam,) = [r for r in clusters if r["year"] == str(year) and r["province_code"] == "35"]
        assert ha_nam["cluster_name"] == "Đồng bằng sông Hồng", year


def test_codes_stay_text(clusters):
    assert all(len(r["province_code"]) == 2 for r in clusters)
    assert read("provinces_2024.csv")[0]["province_code"] == "01"
