-- balance_buckets_expiring is read only for buckets that expire (expires_at <= now), yet every bucket without an
-- expiry — every credit grant that sets none — had an entry in it: one index insert a grant for nothing. Those
-- buckets leave the index; the planner still uses it, since expires_at <= $1 implies expires_at IS NOT NULL
-- (SQLite's side of the same change is its migration 0031).
DROP INDEX balance_buckets_expiring;
CREATE INDEX balance_buckets_expiring ON balance_buckets (expires_at) WHERE NOT expiry_recorded AND NOT voided AND expires_at IS NOT NULL;
