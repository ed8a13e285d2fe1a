-- Whether the warehouse holds any submission (lhpn rebuild asks before it empties it).
select exists (select 1 from raw.submissions)
