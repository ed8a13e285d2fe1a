-- ChiTieu rows that are no indicator of the report (contract §2): a code with neither a target
-- nor a result, as a template lists the catalogue rows a province does not have. The reader
-- skips them (they are never loaded into raw.term_indicators nor counted); they are kept here
-- only so the receipt can say once which rows were left aside.
create table raw.skipped_indicator_rows (
    submission_id   bigint not null references raw.submissions on delete cascade,
    excel_row       integer not null,
    indicator_code  text not null,
    primary key (submission_id, excel_row)
);
