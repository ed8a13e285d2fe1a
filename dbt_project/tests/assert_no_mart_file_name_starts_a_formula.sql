-- A file name is chosen by the sender; the marts quote it, and an analyst may export them to a
-- spreadsheet. No source_file in the marts may start like a formula (= + - @ tab CR): staging
-- quotes such names with an apostrophe. Returns the names that would still run.
with

attainment as (

    select source_file from {{ ref('term_indicator_attainment') }}

),

scorecard as (

    select source_file from {{ ref('term_scorecard') }}

),

ranking as (

    select source_file from {{ ref('emulation_ranking') }}

),

poverty as (

    select source_file from {{ ref('poverty_support_outcomes') }}

),

exposed as (

    select source_file from attainment
    union all
    select source_file from scorecard
    union all
    select source_file from ranking
    union all
    select source_file from poverty

)

select distinct source_file
from exposed
where source_file ~ '^[-=+@\t\r]'
