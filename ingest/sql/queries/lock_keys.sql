-- Transaction-level advisory locks on the given keys, taken in one fixed order (no deadlocks
-- between two runs locking overlapping sets).
select pg_advisory_xact_lock(hashtext(k))
from (select k from unnest(%(keys)b::text[]) as k order by k) as ordered
