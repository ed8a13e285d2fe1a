-- Each province's emulation score for the year, ranked within its emulation cluster.
with

scores as (

    select * from {{ ref('int_emulation_scores_summed') }}

),

clusters as (

    select * from {{ ref('emulation_clusters') }}

),

joined as (

    select
        scores.year,
        clusters.cluster_code,
        clusters.cluster_name,
        {{ province_columns('scores') }},
        clusters.role as cluster_role,
        clusters.source as cluster_source,
        scores.score,
        scores.self_score,
        scores.max_score,
        scores.criteria_count,
        scores.criteria_reviewed,
        {{ period_columns('scores') }},
        scores.source_file,
        scores.submitted_at

    from scores
    left join clusters
        on clusters.year = scores.year
        and clusters.province_code = scores.province_code

),

ranked as (

    select
        *,
        round(score / nullif(max_score, 0) * 100, 2) as score_pct,
        -- Competition ranking: ties share a rank and the next rank skips (1, 2, 2, 4).
        case
            when cluster_code is not null and score is not null
                then rank() over (
                    partition by year, cluster_code, score is null
                    order by score desc
                )
        end as rank_in_cluster,
        case
            when score is not null
                then rank() over (partition by year, score is null order by score desc)
        end as rank_in_country

    from joined

),

counted as (

    select
        *,
        -- the N of "rank 3/N": the cluster's provinces scored that year
        case
            when cluster_code is not null
                then count(rank_in_cluster) over (partition by year, cluster_code)
        end as ranked_in_cluster

    from ranked

),

final as (

    select
        year,
        cluster_code,
        cluster_name,
        {{ province_columns() }},
        score,
        self_score,
        max_score,
        score_pct,
        rank_in_cluster,
        ranked_in_cluster,
        rank_in_country,
        cluster_role,
        {{ label_columns('cluster_role', 'cluster_role') }},
        cluster_source,
        {{ label_columns('cluster_source', 'cluster_source') }},
        criteria_count,
        criteria_reviewed,
        {{ period_columns() }},
        source_file,
        submitted_at

    from counted

)

select * from final
