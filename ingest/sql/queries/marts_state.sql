-- What decides which marts a dbt build needs (ingest.marts.build.marts_plan): a fingerprint of
-- every received submission (the status feed: submission_status, reporting_rounds, versions,
-- findings read rejected files too), one of the periods files named (marts.periods), one per sheet
-- table of the accepted submissions that
-- have rows in it (the marts downstream of that table in dbt's graph read them), and how many of
-- the marts exist. A new version changes the fingerprint of the version it supersedes too
-- (is_current), so the tables of the superseded file count as changed as well. processed_at is in
-- the fingerprint so that a reload of the same files after a truncate counts as new data.
with

fingerprinted as (

    select
        submissions.submission_id,
        submissions.outcome,
        submissions.period,
        concat_ws(
            ':', submissions.submission_id, submissions.sha256, submissions.status,
            submissions.is_current, submissions.processed_at
        ) as fingerprint,
        submissions.outcome <> 'rejected' and exists (
            select 1 from raw.term_indicators as t where t.submission_id = submissions.submission_id
        ) as in_term_indicators,
        submissions.outcome <> 'rejected' and exists (
            select 1 from raw.emulation_scores as e
            where e.submission_id = submissions.submission_id
        ) as in_emulation_scores,
        submissions.outcome <> 'rejected' and exists (
            select 1 from raw.poverty_support as p where p.submission_id = submissions.submission_id
        ) as in_poverty_support
    from raw.submissions

)

select
    md5(coalesce(string_agg(fingerprint, ',' order by submission_id), '')) as received,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_term_indicators), ''
    )) as term_indicators,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_emulation_scores), ''
    )) as emulation_scores,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_poverty_support), ''
    )) as poverty_support,
    md5(coalesce(string_agg(distinct period, ',' order by period), '')) as periods,
    (
        select count(*)::int
        from unnest(%(marts)s::text[]) as mart
        where to_regclass('marts.' || mart) is not null
    ) as marts_present
from fingerprinted
