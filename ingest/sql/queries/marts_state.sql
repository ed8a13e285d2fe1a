-- What decides which marts a dbt build needs (ingest.marts.build.marts_plan): a fingerprint of
-- every received submission (the status feed: submission_status, reporting_rounds, versions,
-- findings read rejected files too), one of the periods files named (marts.periods), two per
-- sheet table, and how many of the marts exist. Of a sheet table: its accepted submissions that
-- have rows in it and whose rows reach a mart (`<table>_periods`: the periods of the kinds the
-- table's marts read, dbt var sheet_period_kinds; null: every period), for the marts downstream
-- of the table in dbt's graph; and all its accepted submissions with rows, for the tests of its
-- staging view (each file's rows are tested). A new version changes the fingerprint of the
-- version it supersedes too (is_current), so the tables of the superseded file count as changed
-- as well. processed_at is in the fingerprint so that a reload of the same files after a
-- truncate counts as new data.
with

fingerprinted as (

    select
        submissions.submission_id,
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

),

read_by_marts as (

    select
        fingerprinted.*,
        in_term_indicators and (
            %(term_indicators_periods)s::text[] is null
            or period = any(%(term_indicators_periods)s::text[])
        ) as marts_term_indicators,
        in_emulation_scores and (
            %(emulation_scores_periods)s::text[] is null
            or period = any(%(emulation_scores_periods)s::text[])
        ) as marts_emulation_scores,
        in_poverty_support and (
            %(poverty_support_periods)s::text[] is null
            or period = any(%(poverty_support_periods)s::text[])
        ) as marts_poverty_support
    from fingerprinted

)

select
    md5(coalesce(string_agg(fingerprint, ',' order by submission_id), '')) as received,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where marts_term_indicators),
        ''
    )) as term_indicators,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where marts_emulation_scores),
        ''
    )) as emulation_scores,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where marts_poverty_support),
        ''
    )) as poverty_support,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_term_indicators), ''
    )) as term_indicators_rows,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_emulation_scores), ''
    )) as emulation_scores_rows,
    md5(coalesce(
        string_agg(fingerprint, ',' order by submission_id) filter (where in_poverty_support), ''
    )) as poverty_support_rows,
    md5(coalesce(string_agg(distinct period, ',' order by period), '')) as periods,
    (
        select count(*)::int
        from unnest(%(marts)s::text[]) as mart
        where to_regclass('marts.' || mart) is not null
    ) as marts_present
from read_by_marts
