-- What decides whether the marts need a dbt build (ingest.marts.build.marts_plan): a fingerprint
-- of the accepted submissions (what every mart reads), one of every received submission
-- (rejected ones count in submission_status), and how many of the marts exist. processed_at is
-- in the fingerprint so that a reload of the same files after a truncate counts as new data.
with

fingerprinted as (

    select
        submission_id,
        outcome,
        concat_ws(':', submission_id, sha256, status, is_current, processed_at) as fingerprint
    from raw.submissions

)

select
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where outcome <> 'rejected'),
        ''
    )) as accepted,
    md5(coalesce(string_agg(fingerprint, ',' order by submission_id), '')) as received,
    (
        select count(*)::int
        from unnest(%(marts)s::text[]) as mart
        where to_regclass('marts.' || mart) is not null
    ) as marts_present
from fingerprinted
