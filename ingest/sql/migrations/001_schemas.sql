-- Schemas of the warehouse. raw: landed submissions; audit: what happened to every file;
-- staging/intermediate: dbt's internal layers; marts: what BI reads (the only schema bi_reader sees).
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists reference;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'bi_reader') then
        create role bi_reader login;
    end if;
end
$$;

revoke all on schema raw, audit, reference, staging, intermediate from public;
grant usage on schema marts to bi_reader;
alter default privileges in schema marts grant select on tables to bi_reader;

-- One row per distinct file received (content-addressed by sha256), accepted or not.
create table raw.submissions (
    submission_id          bigint generated always as identity primary key,
    sha256                 text not null unique,
    source_file            text not null,          -- file name as dropped in the inbox
    province_code          text not null,          -- the inbox folder: who sent it
    archive_path           text not null,          -- relative to the data home
    size_bytes             bigint not null,
    received_at            timestamptz not null,
    processed_at           timestamptz not null default now(),
    declared_province_code text,                   -- ThongTin "Mã tỉnh" as written
    province_name          text,
    period                 text,
    term                   text,
    report_date            date,
    prepared_by            text,                   -- personal data: never exposed to BI
    contact                text,                   -- personal data: never exposed to BI
    sheets                 text[] not null default '{}',
    -- validation outcome, fixed once decided: accepted | accepted_with_warnings | rejected
    outcome                text not null check (outcome in ('accepted', 'accepted_with_warnings', 'rejected')),
    -- lifecycle: the outcome, or superseded once a later version of (province, period) arrives
    status                 text not null check (status in ('accepted', 'accepted_with_warnings', 'rejected', 'superseded')),
    version                integer,                -- per (province_code, period); null for rejected files
    error_count            integer not null default 0,
    warning_count          integer not null default 0,
    unique (province_code, period, version)
);
create index on raw.submissions (province_code, period);

-- Sheet ChiTieu: term indicators. Values are already normalised (numbers, percents 0..100).
create table raw.term_indicators (
    submission_id   bigint not null references raw.submissions on delete cascade,
    excel_row       integer not null,
    indicator_code  text not null,
    indicator_text  text,
    unit_text       text,
    target_value    numeric,
    actual_value    numeric,
    actual_text     text,                          -- the cell as written, e.g. '3.562/5.000'
    note            text,
    primary key (submission_id, indicator_code)
);

-- Sheet ThiDua: emulation scoring.
create table raw.emulation_scores (
    submission_id    bigint not null references raw.submissions on delete cascade,
    excel_row        integer not null,
    criterion_code   text not null,
    criterion_text   text,
    max_points       numeric,
    self_points      numeric,
    reviewed_points  numeric,
    primary key (submission_id, criterion_code)
);

-- Sheet GiamNgheo: one row per district plus the total row as written (is_total). Money in VND.
create table raw.poverty_support (
    submission_id                  bigint not null references raw.submissions on delete cascade,
    excel_row                      integer not null,
    district_name                  text not null,
    is_total                       boolean not null default false,
    poor_households_start          numeric,
    female_headed_poor             numeric,
    households_out_of_poverty      numeric,
    households_out_of_near_poverty numeric,
    female_headed_out_of_poverty   numeric,
    charity_homes                  numeric,
    charity_homes_vnd              numeric,
    policy_loan_households         numeric,
    policy_loan_outstanding_vnd    numeric,
    livelihood_packages            numeric,
    five_no_three_clean_households numeric,
    primary key (submission_id, excel_row)
);

-- Every run of the pipeline (lhpn run, or one Airflow task).
create table audit.runs (
    run_id       text primary key,
    trigger      text not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz,
    files_seen   integer not null default 0,
    accepted     integer not null default 0,
    rejected     integer not null default 0,
    duplicates   integer not null default 0,
    deferred     integer not null default 0,
    status       text not null default 'running'
);

-- What happened to every file: received, duplicate, deferred, accepted, rejected, failed...
create table audit.ingest_log (
    log_id         bigint generated always as identity primary key,
    logged_at      timestamptz not null default now(),
    run_id         text,
    sha256         text,
    source_file    text not null,
    province_code  text,
    event          text not null,
    submission_id  bigint,
    message        text
);
create index on audit.ingest_log (sha256);

-- Every validation finding, error or warning, with its place in the workbook.
create table audit.validation_results (
    result_id      bigint generated always as identity primary key,
    submission_id  bigint not null references raw.submissions on delete cascade,
    rule           text not null,
    severity       text not null check (severity in ('error', 'warning')),
    sheet          text,
    excel_row      integer,
    column_header  text,
    value          text,
    expected       text,
    message_vi     text not null,
    message_en     text not null,
    created_at     timestamptz not null default now()
);
create index on audit.validation_results (submission_id);
