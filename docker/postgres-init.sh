#!/usr/bin/env bash
# First start of the PostgreSQL container: the warehouse and the Airflow metadata databases,
# each owned by its own role, neither a superuser. Passwords come from the environment (the .env
# file), and reach SQL as psql variables, never pasted into the SQL text.
# tests/test_production.py runs this very script against a throwaway cluster.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v lhpn_user="$LHPN_DB_USER" -v lhpn_password="$LHPN_DB_PASSWORD" \
  -v airflow_user="$AIRFLOW_DB_USER" -v airflow_password="$AIRFLOW_DB_PASSWORD" <<'SQL'
-- the warehouse owner creates the bi_reader role in its migrations
create role :"lhpn_user" login createrole password :'lhpn_password';
create database lhpn owner :"lhpn_user";
create role :"airflow_user" login password :'airflow_password';
create database airflow owner :"airflow_user";
-- only its owner may connect to the Airflow metadata (bi_reader, the warehouse role may not)
revoke connect, temporary on database airflow from public;
-- nor to the maintenance database: a BI login opens the warehouse only (issue 19)
revoke connect, temporary on database postgres from public;
SQL
