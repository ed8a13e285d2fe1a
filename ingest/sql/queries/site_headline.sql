-- Pages: the headline figures of the dashboard, the latest year first.
select period, period_year, provinces_total, poverty_provinces, poverty_provinces_complete,
       households_out_of_poverty, households_out_of_poverty_complete, charity_homes,
       scorecard_provinces, indicators_met, indicators_total
from marts.headline_figures
order by period_end_date desc
