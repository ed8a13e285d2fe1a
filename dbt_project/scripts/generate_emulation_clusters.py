"""Write seeds/emulation_clusters.csv: emulation cluster membership and roles, 2019-2025.

Reference data, editable by hand afterwards: this script only gives a reasonable start.
Clusters follow the regions of provinces_2024.csv, with the contract §5 facts built in:
the cluster "Duyên hải miền Trung và Tây Nguyên" (DHMT-TN) has exactly Quảng Ngãi, Quảng Nam,
Khánh Hòa, Phú Yên, Bình Định, Đắk Lắk, Lâm Đồng, Gia Lai, Kon Tum and Đắk Nông; Gia Lai leads
in 2023 (Quảng Ngãi deputy) and Khánh Hòa in 2024 (Đắk Lắk deputy). Đà Nẵng joins Bắc Trung Bộ,
Ninh Thuận and Bình Thuận join Đông Nam Bộ. 2025 uses the 34 new codes.

Roles rotate yearly along each cluster's `rotation` list: the leader (truong) of year Y is
rotation[(Y - 2019) % n], the deputy (pho) is rotation[(Y - 2019 + 2) % n].

Run: .venv/bin/python dbt_project/scripts/generate_emulation_clusters.py
"""

from __future__ import annotations

import csv
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FIRST_YEAR, OLD_LAST_YEAR, NEW_YEAR = 2019, 2024, 2025
DEPUTY_OFFSET = 2

# cluster_code -> (name, rotation order of the old codes). Codes are sorted unless stated.
CLUSTERS_2024 = {
    "DBSH": ("Đồng bằng sông Hồng",
             ["01", "22", "26", "27", "30", "31", "33", "34", "35", "36", "37"]),
    "MNPB": ("Trung du và miền núi phía Bắc",
             ["02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "24",
              "25"]),
    "BTB": ("Bắc Trung Bộ và Đà Nẵng", ["38", "40", "42", "44", "45", "46", "48"]),
    # Order chosen so that 2023 = Gia Lai / Quảng Ngãi and 2024 = Khánh Hòa / Đắk Lắk (§5).
    "DHMT-TN": ("Duyên hải miền Trung và Tây Nguyên",
                ["49", "52", "54", "62", "64", "56", "51", "66", "67", "68"]),
    "DNB": ("Đông Nam Bộ và Nam Trung Bộ", ["58", "60", "70", "72", "74", "75", "77", "79"]),
    "DBSCL": ("Đồng bằng sông Cửu Long",
              ["80", "82", "83", "84", "86", "87", "89", "91", "92", "93", "94", "95", "96"]),
}

# From 1 July 2025: the 34 new codes (province_merger_2025.csv new_code).
CLUSTERS_2025 = {
    "DBSH": ("Đồng bằng sông Hồng", ["01", "22", "24", "31", "33", "37"]),
    "MNPB": ("Trung du và miền núi phía Bắc",
             ["04", "08", "11", "12", "14", "15", "19", "20", "25"]),
    "BTB": ("Bắc Trung Bộ", ["38", "40", "42", "44", "46"]),
    "DHMT-TN": ("Duyên hải miền Trung và Tây Nguyên", ["48", "51", "52", "56", "66", "68"]),
    "DNB": ("Đông Nam Bộ", ["75", "79", "80"]),
    "DBSCL": ("Đồng bằng sông Cửu Long", ["82", "86", "91", "92", "96"]),
}


def rows_for(year: int, clusters: dict[str, tuple[str, list[str]]]) -> list[list[str]]:
    rows = []
    for cluster_code, (cluster_name, rotation) in clusters.items():
        step = year - FIRST_YEAR
        leader = rotation[step % len(rotation)]
        deputy = rotation[(step + DEPUTY_OFFSET) % len(rotation)]
        for code in sorted(rotation):
            role = "truong" if code == leader else "pho" if code == deputy else ""
            rows.append([cluster_code, cluster_name, str(year), code, role])
    return rows


def check(clusters: dict[str, tuple[str, list[str]]], codes: set[str]) -> None:
    members = [c for _, rotation in clusters.values() for c in rotation]
    assert len(members) == len(set(members)) == len(codes), "a province is in two clusters"
    assert set(members) == codes, set(members) ^ codes


def main() -> None:
    with open(SEEDS / "provinces_2024.csv", encoding="utf-8") as f:
        old_codes = {r["province_code"] for r in csv.DictReader(f)}
    with open(SEEDS / "province_merger_2025.csv", encoding="utf-8") as f:
        new_codes = {r["new_code"] for r in csv.DictReader(f)}
    check(CLUSTERS_2024, old_codes)
    check(CLUSTERS_2025, new_codes)
    rows = [r for y in range(FIRST_YEAR, OLD_LAST_YEAR + 1) for r in rows_for(y, CLUSTERS_2024)]
    rows += rows_for(NEW_YEAR, CLUSTERS_2025)
    with open(SEEDS / "emulation_clusters.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["cluster_code", "cluster_name", "year", "province_code", "role"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
