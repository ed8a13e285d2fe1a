-- When the marts were built, by which dbt invocation and pipeline run, with which dbt, and up to
-- when the data they hold was received (contract §4). One row, replaced by every build.
with

runs as (

    select * from {{ source('audit', 'runs') }}

),

submissions as (

    select * from {{ ref('stg_raw__submissions') }}

),

final as (

    select
        1 as build_info_id,
        '{{ run_started_at.isoformat() }}'::timestamptz as built_at,
        '{{ invocation_id }}'::text as dbt_invocation_id,
        '{{ dbt_version }}'::text as dbt_version,
        (select run_id from runs order by started_at desc, run_id desc limit 1) as pipeline_run_id,
        (select max(received_at) from submissions) as data_received_up_to,
        (select count(*) from submissions) as files_received

)

select * from final
