#!/usr/bin/env bash
# Entry point of every Airflow service of docker-compose.yml: the image's own (/entrypoint), after
# one export. Airflow's default time zone (the clock of its task logs and of naive dates) is the
# clerks' clock, which the dbt project decides once (dbt_project.yml, var `local_time_zone`);
# ingest.settings reads it there, as `lhpn`, the receipts and the pages do. A value already in
# the environment (set in .env by an operator) is kept.
set -euo pipefail
if [ -z "${AIRFLOW__CORE__DEFAULT_TIMEZONE:-}" ]; then
  AIRFLOW__CORE__DEFAULT_TIMEZONE="$(python -c 'from ingest.settings import LOCAL_TIME_ZONE; print(LOCAL_TIME_ZONE)')"
  export AIRFLOW__CORE__DEFAULT_TIMEZONE
fi
exec /entrypoint "$@"
