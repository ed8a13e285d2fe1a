-- Receipts: the rank of each (province, annual period) in its emulation cluster, out of the
-- cluster's provinces that have a score that year ("3/10").
with

ranked as (

    select
        *,
        count(rank_in_cluster) over (partition by year, cluster_code) as ranked_in_cluster
    from marts.emulation_ranking

)

select province_code, period, year, cluster_code, cluster_name, cluster_role, rank_in_cluster,
       ranked_in_cluster, score, max_score, score_pct
from ranked
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
