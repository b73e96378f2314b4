-- A credit grant wrote its bucket into two customer-ordered b-trees: the primary key's index (account, livemode,
-- customer, feature, entity, id) and balance_buckets_grants (account, livemode, customer, created_at, id). Each is
-- a random page a grant, and with their splits they were two thirds of the WAL a grant batch wrote (42 and 41 of
-- 157 frames a commit of ~27 grants; bench/README, twenty-second session) — the fsync of that WAL bounds SQLite
-- grants. One customer order now serves every reader that seeks by customer (the balance book's load, a
-- customer's grant list and totals, a test clock's due instants), and the bucket's id is the key: ids are
-- time-ordered, so the table's inserts go to its right edge. WITHOUT ROWID: the key is the table, so a grant
-- writes the table and one customer-ordered index, not a rowid table and three indexes. Buckets are updated and
-- read by id within their tenant, unique there as before. The key is (id, account, livemode), not (account,
-- livemode, id): with the tenant's columns leading it, SQLite's planner, which has no statistics here, took
-- "account_id = ? AND livemode = ?" on the key (the table itself, so no lookups) for the cheapest path and walked
-- a tenant's every bucket for a customer's book (EXPLAIN QUERY PLAN, 2026-12-06). With the id first, the key
-- serves only seeks by id.
-- SQLite cannot change a table's key in place: the table is rebuilt (its triggers go with it and are made again).
CREATE TABLE balance_buckets_rebuilt (
  account_id        TEXT    NOT NULL,
  livemode          INTEGER NOT NULL,
  customer_id       TEXT    NOT NULL,
  feature_id        TEXT    NOT NULL,
  entity_id         TEXT    NOT NULL,
  id                TEXT    NOT NULL,
  kind              TEXT    NOT NULL,
  priority          INTEGER NOT NULL,
  category          TEXT    NOT NULL,
  granted           INTEGER NOT NULL,
  used              INTEGER NOT NULL,
  held              INTEGER NOT NULL,
  effective_at      INTEGER NOT NULL,
  expires_at        INTEGER,
  created_at        INTEGER NOT NULL,
  voided            INTEGER NOT NULL,
  expiry_recorded   INTEGER NOT NULL,
  name              TEXT,
  metadata          TEXT,
  deferred_amount   INTEGER NOT NULL DEFAULT 0,
  deferred_currency TEXT,
  recognized_amount INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id, account_id, livemode)
) WITHOUT ROWID;
INSERT INTO balance_buckets_rebuilt (account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held,
    effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata, deferred_amount, deferred_currency, recognized_amount)
  SELECT account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held,
    effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata, deferred_amount, deferred_currency, recognized_amount
  FROM balance_buckets;
DROP TABLE balance_buckets;
ALTER TABLE balance_buckets_rebuilt RENAME TO balance_buckets;
CREATE INDEX balance_buckets_by_customer ON balance_buckets (account_id, livemode, customer_id, created_at, id);
CREATE INDEX balance_buckets_expiring ON balance_buckets (expires_at) WHERE expiry_recorded = 0 AND voided = 0;
CREATE INDEX balance_buckets_deferred ON balance_buckets (account_id, livemode, customer_id, feature_id, entity_id, id)
  WHERE deferred_amount > recognized_amount;
CREATE TRIGGER balance_buckets_moves_epoch_on_insert AFTER INSERT ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER balance_buckets_moves_epoch_on_update AFTER UPDATE ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER balance_buckets_moves_epoch_on_delete AFTER DELETE ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
