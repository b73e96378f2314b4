-- balance_buckets_expiring is read only for buckets that expire (SqlBalances.DueForMaintenanceAsync: expires_at <= now),
-- yet every bucket without an expiry — every credit grant that sets none — had a NULL entry in it, appended at the
-- end of the NULLs: 4.4 of the 88 WAL frames a batch of grants committed (OP=credit_grant HOT=0
-- bench/wal-frames.sh, twenty-eighth session). Those buckets leave the index. SQLite still uses it for the query:
-- a comparison on expires_at implies expires_at IS NOT NULL (the partial-index rules).
DROP INDEX balance_buckets_expiring;
CREATE INDEX balance_buckets_expiring ON balance_buckets (expires_at) WHERE expiry_recorded = 0 AND voided = 0 AND expires_at IS NOT NULL;
