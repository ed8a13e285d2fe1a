"""lhpn-warehouse: from provincial Women's Union report files to a trusted warehouse.

The data path is inbox -> ingest (read, normalise, validate, load) -> raw -> dbt -> marts.
"""

__version__ = "0.1.0"
