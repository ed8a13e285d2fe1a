-- Run summary: emulation rankings of the latest year, cluster by cluster.
select year, cluster_name, rank_in_cluster, province_code, province_name, score, max_score,
       cluster_role
from marts.emulation_ranking
where year = (select max(year) from marts.emulation_ranking)
order by cluster_name, rank_in_cluster, province_code
limit %(limit)s
