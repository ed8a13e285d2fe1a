# The one image every Airflow service of docker-compose.yml runs: the pinned Airflow base, the
# locked dependencies, and this project (the `ingest` package, the DAGs, the dbt project).
FROM apache/airflow:3.3.2-python3.11

ENV LHPN_PROJECT=/opt/lhpn \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, so a code change does not reinstall them. requirements.lock holds the runtime
# dependencies only: no test tools (those are in requirements-dev.lock, for .venv).
COPY --chown=airflow:0 requirements.lock /opt/lhpn/requirements.lock
RUN pip install --no-deps -r /opt/lhpn/requirements.lock

COPY --chown=airflow:0 pyproject.toml README.md /opt/lhpn/
COPY --chown=airflow:0 ingest /opt/lhpn/ingest
COPY --chown=airflow:0 dags /opt/lhpn/dags
COPY --chown=airflow:0 dbt_project /opt/lhpn/dbt_project
COPY --chown=airflow:0 expectations /opt/lhpn/expectations
COPY --chown=airflow:0 docker/airflow-entrypoint.sh /opt/lhpn/docker/airflow-entrypoint.sh
# Editable, so ingest.settings.PROJECT_ROOT is /opt/lhpn (dbt project, expectations, DAGs).
RUN pip install --no-deps -e /opt/lhpn
# The lock was installed with --no-deps: check that it agrees with Airflow's own requirements.
RUN pip check

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/lhpn/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    LHPN_DBT_PROJECT=/opt/lhpn/dbt_project \
    LHPN_EXPECTATIONS=/opt/lhpn/expectations \
    LHPN_HOME=/data/lhpn \
    LHPN_INBOX=/data/inbox
WORKDIR /opt/lhpn
# The base image's entry point, after exporting Airflow's default time zone from the dbt project
# (the one place it is decided): see docker/airflow-entrypoint.sh.
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/opt/lhpn/docker/airflow-entrypoint.sh"]
