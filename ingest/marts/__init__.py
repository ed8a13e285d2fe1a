"""Marts: the dbt build of the BI interface (contract §4)."""
