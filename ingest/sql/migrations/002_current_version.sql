-- The current version of each (province, period), decided once: the loader marks the earlier
-- versions 'superseded' when a later one is loaded (queries/supersede_earlier.sql), so a
-- submission is current exactly when it was loaded and not superseded. Every reader (the
-- history query of the outlier rule, dbt's int_submissions_current) reads this column.
alter table raw.submissions
    add column is_current boolean not null
    generated always as (status in ('accepted', 'accepted_with_warnings')) stored;
create index on raw.submissions (province_code, period) where is_current;

-- What would be right, in each language (it was one "Vietnamese / English" string).
alter table audit.validation_results rename column expected to expected_vi;
alter table audit.validation_results add column expected_en text;
