-- Whether the marts the receipts quote exist yet (they appear with the first marts build).
select to_regclass('marts.submission_status') is not null
   and to_regclass('marts.term_scorecard') is not null
   and to_regclass('marts.term_indicator_attainment') is not null
   and to_regclass('marts.emulation_ranking') is not null
   and to_regclass('marts.poverty_support_outcomes') is not null
   and to_regclass('marts.poverty_support_by_province_2025') is not null
