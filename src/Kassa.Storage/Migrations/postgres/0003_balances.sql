-- Entitlements: balances as buckets, locks, usage records, the credit transaction log.
-- Quantities are BIGINT micro-units (1 unit = 1,000,000): exact and identical on both engines.

-- One row per customer, feature and entity ('' = none): what the plan grants each period and the
-- usage past zero. The balance engine locks these rows (PostgreSQL) to serialise changes.
CREATE TABLE feature_balances (
  account_id      TEXT    NOT NULL,
  livemode        BOOLEAN NOT NULL,
  customer_id     TEXT    NOT NULL,
  feature_id      TEXT    NOT NULL,
  entity_id       TEXT    NOT NULL,
  overage         BIGINT NOT NULL,
  overage_policy  TEXT    NOT NULL,
  unlimited       BOOLEAN NOT NULL,
  allowance       BIGINT NOT NULL,
  reset           TEXT    NOT NULL,
  anchor          BIGINT NOT NULL,
  period_start    BIGINT NOT NULL,
  next_reset_at   BIGINT,
  rollover        BOOLEAN NOT NULL,
  rollover_max    BIGINT,
  subscription_id TEXT,
  version         BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id, entity_id)
);
CREATE INDEX feature_balances_due ON feature_balances (next_reset_at) WHERE next_reset_at IS NOT NULL;

CREATE TABLE balance_buckets (
  account_id       TEXT    NOT NULL,
  livemode         BOOLEAN NOT NULL,
  customer_id      TEXT    NOT NULL,
  feature_id       TEXT    NOT NULL,
  entity_id        TEXT    NOT NULL,
  id               TEXT    NOT NULL,
  kind             TEXT    NOT NULL,
  priority         INTEGER NOT NULL,
  category         TEXT    NOT NULL,
  granted          BIGINT NOT NULL,
  used             BIGINT NOT NULL,
  held             BIGINT NOT NULL,
  effective_at     BIGINT NOT NULL,
  expires_at       BIGINT,
  created_at       BIGINT NOT NULL,
  voided           BOOLEAN NOT NULL,
  expiry_recorded  BOOLEAN NOT NULL,
  name             TEXT,
  metadata         TEXT,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id, entity_id, id)
);
CREATE UNIQUE INDEX balance_buckets_by_id ON balance_buckets (account_id, livemode, id);
CREATE INDEX balance_buckets_expiring ON balance_buckets (expires_at) WHERE NOT expiry_recorded AND NOT voided;
CREATE INDEX balance_buckets_grants ON balance_buckets (account_id, livemode, customer_id, created_at, id) WHERE kind = 'grant';

CREATE TABLE locks (
  account_id    TEXT    NOT NULL,
  livemode      BOOLEAN NOT NULL,
  id            TEXT    NOT NULL,
  customer_id   TEXT    NOT NULL,
  feature_id    TEXT    NOT NULL,
  entity_id     TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  held          BIGINT NOT NULL,
  consumed      BIGINT,
  parts         TEXT    NOT NULL,
  expires_at    BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  finalized_at  BIGINT,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX locks_held_by_expiry ON locks (expires_at) WHERE status = 'held';
CREATE INDEX locks_held_by_customer ON locks (account_id, livemode, customer_id) WHERE status = 'held';

-- Every track and every deduction by check: the usage history and the idempotency record.
CREATE TABLE usage_records (
  account_id       TEXT    NOT NULL,
  livemode         BOOLEAN NOT NULL,
  id               TEXT    NOT NULL,
  customer_id      TEXT    NOT NULL,
  feature_id       TEXT    NOT NULL,
  entity_id        TEXT    NOT NULL,
  value            BIGINT NOT NULL,
  idempotency_key  TEXT,
  response         TEXT,
  occurred_at      BIGINT NOT NULL,
  created_at       BIGINT NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX usage_records_idempotency ON usage_records (account_id, livemode, customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX usage_records_by_customer ON usage_records (account_id, livemode, customer_id, feature_id, occurred_at);

CREATE TABLE credit_transactions (
  account_id     TEXT    NOT NULL,
  livemode       BOOLEAN NOT NULL,
  id             TEXT    NOT NULL,
  customer_id    TEXT    NOT NULL,
  feature_id     TEXT    NOT NULL,
  entity_id      TEXT    NOT NULL,
  type           TEXT    NOT NULL,
  amount         BIGINT NOT NULL,
  bucket_id      TEXT,
  balance_after  BIGINT NOT NULL,
  source_type    TEXT,
  source_id      TEXT,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX credit_transactions_by_customer ON credit_transactions (account_id, livemode, customer_id, created_at, id);
