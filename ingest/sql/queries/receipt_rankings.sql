-- Receipts: the rank of each (province, annual period) in its emulation cluster, out of the
-- cluster's provinces that have a score that year ("3/10"), as the mart states both.
select province_code, period, year, cluster_code, cluster_name, cluster_role, rank_in_cluster,
       ranked_in_cluster, score, max_score, score_pct
from marts.emulation_ranking
where (province_code, period) in (
    select * from unnest(%(province_code)s::text[], %(period)s::text[])
)
