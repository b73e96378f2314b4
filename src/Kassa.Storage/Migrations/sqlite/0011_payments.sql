-- Sandbox payments (spec §8, issue 12 item 4): saved payment methods, payment attempts and refunds.
-- A payment or refund row is written and committed before the provider is called; its id is the
-- provider's idempotency key, so a crash between the call and its record never moves money twice.
CREATE TABLE payment_methods (
  account_id      TEXT    NOT NULL,
  livemode        INTEGER NOT NULL,
  id              TEXT    NOT NULL,
  customer_id     TEXT    NOT NULL,
  provider        TEXT    NOT NULL,
  -- The provider's reference to the saved card: never returned by the API.
  provider_token  TEXT    NOT NULL,
  card_brand      TEXT    NOT NULL,
  card_last4      TEXT    NOT NULL,
  card_exp_month  INTEGER NOT NULL,
  card_exp_year   INTEGER NOT NULL,
  is_default      INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  detached_at     INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
-- At most one default method per customer, whatever the code above it does.
CREATE UNIQUE INDEX payment_methods_default ON payment_methods (account_id, livemode, customer_id) WHERE is_default = 1;
CREATE INDEX payment_methods_customer ON payment_methods (account_id, livemode, customer_id, created_at, id);

CREATE TABLE payments (
  account_id          TEXT    NOT NULL,
  livemode            INTEGER NOT NULL,
  id                  TEXT    NOT NULL,
  customer_id         TEXT    NOT NULL,
  invoice_id          TEXT,
  amount              INTEGER NOT NULL,
  currency            TEXT    NOT NULL,
  status              TEXT    NOT NULL,
  failure_code        TEXT,
  failure_message     TEXT,
  payment_method_id   TEXT    NOT NULL,
  provider            TEXT    NOT NULL,
  provider_charge_id  TEXT,
  amount_refunded     INTEGER NOT NULL,
  description         TEXT,
  -- The Idempotency-Key of the request that began the attempt: a retry after a crash finds it.
  request_key         TEXT,
  created_at          INTEGER NOT NULL,
  settled_at          INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
-- An invoice has at most one attempt in flight: a second concurrent charge cannot even be written.
CREATE UNIQUE INDEX payments_one_processing ON payments (account_id, livemode, invoice_id) WHERE status = 'processing' AND invoice_id IS NOT NULL;
CREATE UNIQUE INDEX payments_request_key ON payments (account_id, livemode, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX payments_customer ON payments (account_id, livemode, customer_id, created_at, id);
CREATE INDEX payments_recent ON payments (account_id, livemode, created_at, id);
-- The reconcile worker's scan: attempts still in flight, oldest first, across tenants.
CREATE INDEX payments_processing ON payments (created_at) WHERE status = 'processing';

CREATE TABLE refunds (
  account_id          TEXT    NOT NULL,
  livemode            INTEGER NOT NULL,
  id                  TEXT    NOT NULL,
  payment_id          TEXT    NOT NULL,
  credit_note_id      TEXT,
  amount              INTEGER NOT NULL,
  currency            TEXT    NOT NULL,
  status              TEXT    NOT NULL,
  failure_code        TEXT,
  provider_refund_id  TEXT,
  request_key         TEXT,
  created_at          INTEGER NOT NULL,
  settled_at          INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX refunds_request_key ON refunds (account_id, livemode, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX refunds_payment ON refunds (account_id, livemode, payment_id, created_at, id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE status = 'pending';
