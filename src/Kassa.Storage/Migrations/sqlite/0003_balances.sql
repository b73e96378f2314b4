-- Entitlements: balances as buckets, locks, usage records, the credit transaction log.
-- Quantities are INTEGER micro-units (1 unit = 1,000,000): exact and identical on both engines.

-- One row per customer, feature and entity ('' = none): what the plan grants each period and the
-- usage past zero. The balance engine locks these rows (PostgreSQL) to serialise changes.
CREATE TABLE feature_balances (
  account_id      TEXT    NOT NULL,
  livemode        INTEGER NOT NULL,
  customer_id     TEXT    NOT NULL,
  feature_id      TEXT    NOT NULL,
  entity_id       TEXT    NOT NULL,
  overage         INTEGER NOT NULL,
  overage_policy  TEXT    NOT NULL,
  unlimited       INTEGER NOT NULL,
  allowance       INTEGER NOT NULL,
  reset           TEXT    NOT NULL,
  anchor          INTEGER NOT NULL,
  period_start    INTEGER NOT NULL,
  next_reset_at   INTEGER,
  rollover        INTEGER NOT NULL,
  rollover_max    INTEGER,
  subscription_id TEXT,
  version         INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id, entity_id)
);
CREATE INDEX feature_balances_due ON feature_balances (next_reset_at) WHERE next_reset_at IS NOT NULL;

CREATE TABLE balance_buckets (
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  customer_id      TEXT    NOT NULL,
  feature_id       TEXT    NOT NULL,
  entity_id        TEXT    NOT NULL,
  id               TEXT    NOT NULL,
  kind             TEXT    NOT NULL,
  priority         INTEGER NOT NULL,
  category         TEXT    NOT NULL,
  granted          INTEGER NOT NULL,
  used             INTEGER NOT NULL,
  held             INTEGER NOT NULL,
  effective_at     INTEGER NOT NULL,
  expires_at       INTEGER,
  created_at       INTEGER NOT NULL,
  voided           INTEGER NOT NULL,
  expiry_recorded  INTEGER NOT NULL,
  name             TEXT,
  metadata         TEXT,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id, entity_id, id)
);
CREATE UNIQUE INDEX balance_buckets_by_id ON balance_buckets (account_id, livemode, id);
CREATE INDEX balance_buckets_expiring ON balance_buckets (expires_at) WHERE expiry_recorded = 0 AND voided = 0;
CREATE INDEX balance_buckets_grants ON balance_buckets (account_id, livemode, customer_id, created_at, id) WHERE kind = 'grant';

CREATE TABLE locks (
  account_id    TEXT    NOT NULL,
  livemode      INTEGER NOT NULL,
  id            TEXT    NOT NULL,
  customer_id   TEXT    NOT NULL,
  feature_id    TEXT    NOT NULL,
  entity_id     TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  held          INTEGER NOT NULL,
  consumed      INTEGER,
  parts         TEXT    NOT NULL,
  expires_at    INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  finalized_at  INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX locks_held_by_expiry ON locks (expires_at) WHERE status = 'held';
CREATE INDEX locks_held_by_customer ON locks (account_id, livemode, customer_id) WHERE status = 'held';

-- Every track and every deduction by check: the usage history and the idempotency record.
CREATE TABLE usage_records (
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  id               TEXT    NOT NULL,
  customer_id      TEXT    NOT NULL,
  feature_id       TEXT    NOT NULL,
  entity_id        TEXT    NOT NULL,
  value            INTEGER NOT NULL,
  idempotency_key  TEXT,
  response         TEXT,
  occurred_at      INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX usage_records_idempotency ON usage_records (account_id, livemode, customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX usage_records_by_customer ON usage_records (account_id, livemode, customer_id, feature_id, occurred_at);

CREATE TABLE credit_transactions (
  account_id     TEXT    NOT NULL,
  livemode       INTEGER NOT NULL,
  id             TEXT    NOT NULL,
  customer_id    TEXT    NOT NULL,
  feature_id     TEXT    NOT NULL,
  entity_id      TEXT    NOT NULL,
  type           TEXT    NOT NULL,
  amount         INTEGER NOT NULL,
  bucket_id      TEXT,
  balance_after  INTEGER NOT NULL,
  source_type    TEXT,
  source_id      TEXT,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX credit_transactions_by_customer ON credit_transactions (account_id, livemode, customer_id, created_at, id);
