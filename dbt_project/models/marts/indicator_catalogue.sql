-- Dimension of indicators (contract §4): the catalogue of term indicators (CT..), emulation
-- criteria (TD..) and poverty-support measures (GN..), with labels beside every code. The
-- catalogue's source / source_note columns (contract §5) are taken when the seed has them.
{%- set catalogue = ref('indicators') %}
{%- set seed_columns = adapter.get_columns_in_relation(catalogue) | map(attribute='name') | list
    if execute else [] %}
with

catalogue as (

    select
        code as indicator_code,
        kind as indicator_kind,
        name_vi as indicator_name,
        name_en as indicator_name_en,
        unit,
        value_type,
        direction,
        max_points,
        {% if 'source' in seed_columns -%} source {%- else -%} null::text {%- endif %} as source,
        {% if 'source_note' in seed_columns -%} source_note {%- else -%} null::text {%- endif %}
            as source_note

    from {{ catalogue }}

),

final as (

    select
        indicator_code,
        indicator_kind,
        {{ label_columns('indicator_kind', 'indicator_kind') }},
        indicator_name,
        indicator_name_en,
        unit,
        value_type,
        direction,
        {{ label_columns('direction', 'direction') }},
        max_points,
        source,
        source_note

    from catalogue

)

select * from final
