{#- Models land in exactly the schema their folder names (staging, intermediate, marts) and seeds
    in reference: the migration pre-creates those schemas and grants bi_reader only marts. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
