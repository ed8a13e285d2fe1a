"""Airflow's side of the warehouse: the Assets the DAGs share, the ingest DAG's batches, the warm
executor, the Celery configuration and `make airflow`'s standalone launcher.

The DAGs in `dags/` call into these modules and into `ingest` proper; nothing outside Airflow's
runs imports them. Inside this package `import airflow` still names the library (absolute imports).
"""
