-- Poverty-support outcomes of the annual reports only (YYYY), one row per province and year: a relation a
-- BI tool can sum by year without counting the first half twice (contract §4). The figures of a
-- half-year are part of the annual ones; the half-year rows live in poverty_support_half_year.
-- depends_on: {{ ref('poverty_support_outcomes') }}
{{ poverty_support_of_kind('annual') }}
