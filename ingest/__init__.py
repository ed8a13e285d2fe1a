"""lhpn-warehouse: from provincial Women's Union report files to a trusted warehouse.

The data path is inbox -> ingest (receive, read, validate, load) -> raw -> dbt -> marts, and the
package has one folder per step: `receive/`, `read/`, `validate/`, `load/`, `marts/`, then what
goes back out (`outbox/`, `pages/`, `template/`) and the command line (`cli/`). `pipeline.py`
conducts a run through the steps, `journal.py` records what became of each file; `airflow/`
holds what only Airflow uses (Assets, batches, executors, `make airflow`).
"""

__version__ = "0.1.0"
