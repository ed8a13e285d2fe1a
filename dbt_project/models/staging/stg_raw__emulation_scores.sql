with

source as (

    select * from {{ source('raw', 'emulation_scores') }}

),

renamed as (

    select
        submission_id,
        excel_row,
        upper(trim(criterion_code)) as criterion_code,
        criterion_text,
        max_points::numeric as max_points,
        self_points::numeric as self_points,
        reviewed_points::numeric as reviewed_points

    from source

)

select * from renamed
