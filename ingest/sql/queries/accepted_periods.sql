-- Every period an accepted submission names (ingest.marts.build: which of them the marts of each
-- raw sheet table read, by their kind).
select distinct period from raw.submissions where outcome <> 'rejected' and period is not null
