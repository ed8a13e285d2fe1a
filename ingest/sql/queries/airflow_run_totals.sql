-- What the pipeline runs of one Airflow run of lhpn_ingest did, over every batch and every try
-- (their run ids start with the Airflow run id; see ingest.airflow.batches.pipeline_run_id).
select
    count(*) as pipeline_runs,
    coalesce(sum(files_seen), 0)::int as files,
    coalesce(sum(accepted), 0)::int as accepted,
    coalesce(sum(rejected), 0)::int as rejected,
    coalesce(sum(duplicates), 0)::int as duplicates,
    coalesce(sum(deferred), 0)::int as deferred
from audit.runs
where starts_with(run_id, %(prefix)s)
