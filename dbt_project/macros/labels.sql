{#- The labels of every code a mart shows (contract §4: "every code column has Vietnamese and
    English label columns beside it"). The table is the var code_labels of dbt_project.yml, which
    the Python side (ingest/labels.py) reads too. label_columns(column, code_set) writes
    <column>_label_vi and <column>_label_en beside a code column; tests/test_marts.py checks that
    every code a mart holds has its labels. -#}
{% macro code_labels() -%}
    {{ return(var('code_labels')) }}
{%- endmacro %}

{#- <column>_label_vi and <column>_label_en of a code column; `relation` qualifies the column. -#}
{% macro label_columns(column, code_set, relation=none) -%}
    {%- set labels = code_labels()[code_set] -%}
    {%- set source = (relation ~ '.' if relation else '') ~ column -%}
    {%- for language in ['vi', 'en'] -%}
        case {{ source }}
            {%- for code, texts in labels.items() %}
            when '{{ code }}' then '{{ texts[0 if language == 'vi' else 1] }}'
            {%- endfor %}
        end::text as {{ column }}_label_{{ language }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
