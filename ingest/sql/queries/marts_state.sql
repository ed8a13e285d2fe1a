-- What decides whether the marts need a dbt build (ingest.marts.build.marts_plan): a fingerprint
-- of the accepted submissions (what every mart reads), one of every received submission
-- (rejected ones count in submission_status), and how many of the marts exist.
select
    md5(coalesce(
        string_agg(sha256 || ':' || status, ',' order by submission_id)
            filter (where outcome <> 'rejected'),
        ''
    )) as accepted,
    md5(coalesce(string_agg(sha256 || ':' || status, ',' order by submission_id), '')) as received,
    (
        select count(*)::int
        from unnest(%(marts)s::text[]) as mart
        where to_regclass('marts.' || mart) is not null
    ) as marts_present
from raw.submissions
