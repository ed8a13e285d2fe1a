{#- Column lists many models repeat, named once here (STYLE.md "Each fact once"). -#}

{#- The province columns every mart row carries (contract §4, §7): the code and name in the code
    set of the period, the province on the map from 1 July 2025, and the region. `code_from`
    takes province_code from another relation (the submission's folder rather than the lineage
    row). -#}
{% macro province_columns(relation=none, code_from=none) -%}
    {%- set names = ['province_code', 'province_name', 'province_code_2025',
                     'province_name_2025', 'region_code', 'region_name'] -%}
    {%- for name in names -%}
        {%- set owner = code_from if (name == 'province_code' and code_from) else relation -%}
        {{ owner ~ '.' if owner else '' }}{{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The period columns every mart with a period carries (contract §4), from int_periods. -#}
{% macro period_columns(relation=none) -%}
    {%- set names = ['period', 'period_kind', 'period_start_date', 'period_end_date'] -%}
    {%- for name in names -%}
        {{ relation ~ '.' if relation else '' }}{{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
