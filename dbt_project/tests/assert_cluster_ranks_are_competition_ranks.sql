-- Within each cluster and year, ranks are competition ranks: the best score ranks 1 and each
-- rank is 1 + the number of provinces with a strictly higher score (1, 2, 2, 4).
-- Returns the provinces whose rank breaks that rule.
with

ranking as (

    select * from {{ ref('emulation_ranking') }}
    where cluster_code is not null and score is not null

),

expected as (

    select
        ranking.year,
        ranking.cluster_code,
        ranking.province_code,
        ranking.score,
        ranking.rank_in_cluster,
        1 + (
            select count(*)
            from ranking as better
            where better.year = ranking.year
                and better.cluster_code = ranking.cluster_code
                and better.score > ranking.score
        ) as expected_rank

    from ranking

)

select * from expected
where rank_in_cluster is distinct from expected_rank
