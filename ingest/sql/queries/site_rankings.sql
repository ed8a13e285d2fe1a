-- Pages: emulation scores ranked within each cluster and year.
select year, cluster_code, cluster_name, province_code, province_name, province_code_2025,
       score, max_score, score_pct, rank_in_cluster, ranked_in_cluster, rank_in_country,
       cluster_role,
       criteria_count, criteria_reviewed, period
from marts.emulation_ranking
order by year, cluster_code nulls last, rank_in_cluster nulls last, province_code
