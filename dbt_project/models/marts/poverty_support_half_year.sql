-- Poverty-support outcomes of the half-year reports only (YYYY-6T), one row per province and year: a relation a
-- BI tool can sum by year without counting the first half twice (contract §4). The figures of a
-- half-year are part of the annual ones; never add these to poverty_support_annual.
-- depends_on: {{ ref('poverty_support_outcomes') }}
{{ poverty_support_of_kind('half_year') }}
