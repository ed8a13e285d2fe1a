-- Dimension of indicators (contract §4): the catalogue of term indicators (CT..), emulation
-- criteria (TD..) and poverty-support measures (GN..), with labels beside every code. The
-- source / source_note (contract §5) come from the seed indicator_sources beside the catalogue,
-- or from the catalogue itself once the contract's indicators.csv carries them.
{%- set catalogue = ref('indicators') %}
{%- set seed_columns = adapter.get_columns_in_relation(catalogue) | map(attribute='name') | list
    if execute else [] %}
with

catalogue as (

    select
        catalogue.code as indicator_code,
        catalogue.kind as indicator_kind,
        catalogue.name_vi as indicator_name,
        catalogue.name_en as indicator_name_en,
        catalogue.unit,
        catalogue.value_type,
        catalogue.direction,
        catalogue.max_points,
        {% if 'source' in seed_columns -%} catalogue.source {%- else -%} sources.source
        {%- endif %} as source,
        {% if 'source_note' in seed_columns -%} catalogue.source_note {%- else -%}
            sources.source_note {%- endif %} as source_note

    from {{ catalogue }} as catalogue
    left join {{ ref('indicator_sources') }} as sources
        on sources.code = catalogue.code

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
