-- Which of these contents are already in the warehouse: a file with the same bytes is a duplicate.
select sha256 from raw.submissions where sha256 = any(%(sha256)b::text[])
