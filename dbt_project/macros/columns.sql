{#- Column lists many models repeat, named once here (STYLE.md "Each fact once"). -#}

{#- The province columns every mart row carries (contract §4, §7): the stable key of the province
    (marts.provinces: `<code>@<code set>`, e.g. 52@2024 Bình Định, 52@2025 Gia Lai), the code
    and name in the code set of the period, the province on the map from 1 July 2025, and the
    region. `code_from` takes province_code from another relation (the submission's folder
    rather than the lineage row). -#}
{% macro province_columns(relation=none, code_from=none) -%}
    {%- set names = ['province_key', 'province_code', 'province_name', 'province_code_2025',
                     'province_name_2025', 'region_code', 'region_name'] -%}
    {%- for name in names -%}
        {%- set owner = code_from if (name == 'province_code' and code_from) else relation -%}
        {{ owner ~ '.' if owner else '' }}{{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The period columns every mart with a period carries (contract §4), from int_periods: the
    period (the key of marts.periods), its kind with the kind's labels, and its dates. -#}
{% macro period_columns(relation=none) -%}
    {%- set names = ['period', 'period_kind', 'period_kind_label_vi', 'period_kind_label_en',
                     'period_start_date', 'period_end_date'] -%}
    {%- for name in names -%}
        {{ relation ~ '.' if relation else '' }}{{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The poverty-support measures of sheet GiamNgheo (contract §2), each summed over the rows of a
    group: district rows into a province (§7 "Sums over district rows": sum ignores NULLs and is
    NULL only when every row is), provinces into a 2025 province. -#}
{% macro poverty_measure_names() -%}
    {{ return(['poor_households_start', 'female_headed_poor', 'households_out_of_poverty',
               'households_out_of_near_poverty', 'female_headed_out_of_poverty',
               'charity_homes', 'charity_homes_vnd', 'policy_loan_households',
               'policy_loan_outstanding_vnd', 'livelihood_packages',
               'five_no_three_clean_households', 'savings_loan_groups',
               'overdue_loans_vnd']) }}
{%- endmacro %}

{% macro poverty_measure_sums() -%}
    {%- for name in poverty_measure_names() -%}
        sum({{ name }}) as {{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The measures as they are, from `relation` (a roll-up keeps them beside its own columns). -#}
{% macro poverty_measure_columns(relation=none) -%}
    {%- for name in poverty_measure_names() -%}
        {{ relation ~ '.' if relation else '' }}{{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- out_of_poverty_rate_pct of contract §7, on the row's own (possibly summed) measures. -#}
{% macro out_of_poverty_rate(relation=none) -%}
    {%- set r = relation ~ '.' if relation else '' -%}
    round({{ r }}households_out_of_poverty * 100.0 / nullif({{ r }}poor_households_start, 0), 2)
{%- endmacro %}

{#- The overdue ratio (contract §2): overdue debt ÷ outstanding entrusted loans × 100, on the
    row's own (possibly summed) measures. -#}
{% macro overdue_ratio(relation=none) -%}
    {%- set r = relation ~ '.' if relation else '' -%}
    round({{ r }}overdue_loans_vnd * 100.0 / nullif({{ r }}policy_loan_outstanding_vnd, 0), 2)
{%- endmacro %}

{#- No double counting by year (contract §4): in a relation that holds annual and half-year rows,
    the first date column is this one, 1 January of the year for an annual row and NULL for a
    half-year row (its figures are part of the annual ones). BI tools take the first date column
    as a dataset's default time column (Apache Superset sets main_dttm_col to the first temporal
    column when the dataset is created), so a yearly sum on the default counts each year once. -#}
{% macro annual_period_date(relation=none) -%}
    {%- set r = relation ~ '.' if relation else '' -%}
    case when {{ r }}period_kind = 'annual' then {{ r }}period_start_date end
{%- endmacro %}

-- Completeness of a sum over provinces (contract §4), decided once: inside a group by over rows
-- that carry is_reported, how many of the expected provinces reported and were summed ...
{% macro units_counts() -%}
    count(*) filter (where is_reported) as units_reported,
        count(*) as units_expected
{%- endmacro %}

-- ... and whether the sum is whole (false: a partial sum, never a fall).
{% macro is_complete() -%}
    units_reported = units_expected
{%- endmacro %}

{#- The period kinds whose reports of a raw sheet table reach the marts (var sheet_period_kinds),
    as a SQL list for `period_kind in ...`; ingest.marts.build reads the same var. -#}
{% macro sheet_period_kinds(table) -%}
    ({%- for kind in var('sheet_period_kinds')[table] -%}
        '{{ kind }}'{{ ', ' if not loop.last }}
    {%- endfor -%})
{%- endmacro %}

{#- The poverty-support outcomes of one period kind ('annual' or 'half_year'): the body of the two
    relations a BI tool can sum by year without counting the first half twice (contract §4). -#}
{% macro poverty_support_of_kind(period_kind) -%}
with

outcomes as (

    select * from {{ ref('poverty_support_outcomes') }}

),

final as (

    select
        {{ province_columns() }},
        {{ period_columns() }},
        period_year,
        districts_reported,
        {{ poverty_measure_columns() }},
        out_of_poverty_rate_pct,
        overdue_ratio_pct,
        submission_id,
        source_file,
        submitted_at

    from outcomes
    where period_kind = '{{ period_kind }}'

)

select * from final
{%- endmacro %}
