-- Run summary: emulation rankings of the latest year, cluster by cluster.
-- The role is shown by its labels (decided once: the var code_labels of dbt_project.yml), never its code.
select year, cluster_name, rank_in_cluster, province_code, province_name, score, max_score,
       cluster_role, cluster_role_label_vi, cluster_role_label_en
from marts.emulation_ranking
where year = (select max(year) from marts.emulation_ranking)
order by cluster_name, rank_in_cluster, province_code
limit %(limit)s
