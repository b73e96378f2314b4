-- Auto top-up purchases (issue 13). The settings row learns whether it is armed (a failed attempt
-- disarms it until the settings are set again or the customer gets a new default payment method) and
-- what its last attempt was; last_attempt_at is also the claim that keeps purchases at most one per
-- 10 minutes per customer and feature, on every node.
ALTER TABLE auto_top_ups ADD COLUMN armed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE auto_top_ups ADD COLUMN last_attempt_at BIGINT;
ALTER TABLE auto_top_ups ADD COLUMN last_failure_code TEXT;
ALTER TABLE auto_top_ups ADD COLUMN last_invoice_id TEXT;
ALTER TABLE auto_top_ups ADD COLUMN last_payment_id TEXT;

-- One row per attempt, keyed by its 10-minute window: a second node (or a retry after a crash) that
-- tries to claim the same window conflicts on the key instead of buying again. id is the attempt's
-- deterministic key (derived from the same columns). A row stays 'processing' while its payment is
-- in flight; the worker settles it from the payment's outcome, also after a restart.
CREATE TABLE auto_top_up_runs (
  account_id       TEXT    NOT NULL,
  livemode         BOOLEAN NOT NULL,
  customer_id      TEXT    NOT NULL,
  feature_id       TEXT    NOT NULL,
  window_start     BIGINT  NOT NULL,
  id               TEXT    NOT NULL,
  status           TEXT    NOT NULL,
  subscription_id  TEXT,
  invoice_id       TEXT,
  payment_id       TEXT,
  failure_code     TEXT,
  created_at       BIGINT  NOT NULL,
  settled_at       BIGINT,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id, window_start)
);
CREATE INDEX auto_top_up_runs_processing ON auto_top_up_runs (created_at, id) WHERE status = 'processing';
