-- lhpn status --round: one reporting round, as marts.reporting_rounds counts it.
select *
from marts.reporting_rounds
where period = %(period)s
