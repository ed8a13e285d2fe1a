-- For the rest of the load transaction: every row copied next into a table that references
-- raw.submissions is checked by one lookup of its submission_id (the foreign key), and that
-- lookup goes by the primary key whatever the statistics say. The server plans it once per
-- session, when raw.submissions may be nearly empty (a new warehouse, `lhpn rebuild`) and
-- autovacuum may have just counted it at 0 rows: then it plans a sequential scan, keeps it while
-- the table grows, and each row of the load reads the whole table (28,000 rows x 600
-- submissions: the load of the bench corpus took 1.2 s instead of 0.4 s).
set local enable_seqscan = off
