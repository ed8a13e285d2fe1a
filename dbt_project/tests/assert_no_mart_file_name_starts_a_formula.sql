-- A file name is chosen by the sender; the marts quote it, and an analyst may export them to a
-- spreadsheet. No source_file in the marts may start like a formula (= + - @ tab CR): staging
-- quotes such names with an apostrophe. Returns the names that would still run.
{% set exposing = ['term_indicator_attainment', 'term_scorecard', 'emulation_ranking',
                   'poverty_support_outcomes', 'submission_versions', 'validation_findings'] %}
with

exposed as (

    {% for mart in exposing %}
    select '{{ mart }}' as mart, source_file from {{ ref(mart) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select distinct mart, source_file
from exposed
where source_file ~ '^[-=+@\t\r]'
