{#- Report periods (contract §1, §4, §7). The one place that reads a period string:
    'YYYY' annual, 'YYYY-6T' first half-year, 'GK-YYYY' mid-term review, 'TK-YYYY' end of term.
    Only int_periods calls the period macros; every other model joins it. ingest/periods.py
    applies the same rules to incoming files; tests/test_marts.py
    (test_every_mart_dates_its_periods_as_the_ingest_does) holds the two to the same dates. -#}

{% macro period_kind(period) -%}
    case
        when {{ period }} ~ '^[0-9]{4}$' then 'annual'
        when {{ period }} ~ '^[0-9]{4}-6T$' then 'half_year'
        when {{ period }} ~ '^GK-[0-9]{4}$' then 'mid_term'
        when {{ period }} ~ '^TK-[0-9]{4}$' then 'end_of_term'
    end
{%- endmacro %}

{% macro period_year(period) -%}
    case
        when {{ period_kind(period) }} is not null
            then substring({{ period }} from '[0-9]{4}')::integer
    end
{%- endmacro %}

{#- The date a period starts: 1 January of the year it names, for every kind. A review
    (GK/TK-YYYY) is dated its review year, 1 January to 31 December of YYYY (contract §7); the
    span of the congress term it reviews is the submission's `term`, not the period. -#}
{% macro period_start_date(period) -%}
    case
        when {{ period_kind(period) }} is not null
            then make_date({{ period_year(period) }}, 1, 1)
    end
{%- endmacro %}

{#- The date a period ends: 30 June for a half-year, 31 December otherwise (GK/TK too, §7). -#}
{% macro period_end_date(period) -%}
    case {{ period_kind(period) }}
        when 'half_year' then make_date({{ period_year(period) }}, 6, 30)
        when 'annual' then make_date({{ period_year(period) }}, 12, 31)
        when 'mid_term' then make_date({{ period_year(period) }}, 12, 31)
        when 'end_of_term' then make_date({{ period_year(period) }}, 12, 31)
    end
{%- endmacro %}

{#- Annual reports are due 15 December, half-year reports 15 June; reviews have no due date. -#}
{% macro period_due_date(period) -%}
    case {{ period_kind(period) }}
        when 'annual' then make_date({{ period_year(period) }}, 12, 15)
        when 'half_year' then make_date({{ period_year(period) }}, 6, 15)
    end
{%- endmacro %}

{#- Which province codes a period uses: the 63 codes of 2024 for periods ending before the
    merger (every period up to 2025-6T), the 34 codes of 2025 after it. -#}
{% macro province_code_set(period) -%}
    case
        when {{ period_end_date(period) }} < date '{{ var("province_merger_date") }}' then '2024'
        when {{ period_end_date(period) }} is not null then '2025'
    end
{%- endmacro %}

{#- Today in Vietnam: due dates and receipt dates are compared as dates in var local_time_zone. -#}
{% macro local_date(timestamptz) -%}
    ({{ timestamptz }} at time zone '{{ var("local_time_zone") }}')::date
{%- endmacro %}

{#- Today's date for the calendar (contract §6, §7): var `today` (YYYY-MM-DD), which
    ingest.marts.build passes from ingest.settings.today() (LHPN_TODAY, else the date in Vietnam)
    on every build; the Vietnam date of now() only when dbt runs without it. Status, expected
    periods and reminder stages are computed against it, never against the build's clock. -#}
{% macro calendar_today() -%}
    {%- if var('today', none) -%}
        date '{{ var("today") }}'
    {%- else -%}
        {{ local_date('now()') }}
    {%- endif -%}
{%- endmacro %}
