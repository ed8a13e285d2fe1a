-- The validation findings of the given submissions, as they were recorded (one JSON object per
-- finding, so the receipts read "expected" in whichever columns the schema has: one packed
-- "Vietnamese / English" column before migration 002, expected_vi / expected_en after).
select submission_id, to_jsonb(v) as finding
from audit.validation_results as v
where submission_id = any(%(submission_ids)s)
order by submission_id, result_id
