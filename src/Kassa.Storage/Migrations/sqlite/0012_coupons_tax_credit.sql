-- Coupons, tax rates, customer credit balances and credit notes (spec §7, issue 12). Amounts are
-- integers in minor units; a coupon's value is an exact decimal kept as text (a percentage may have
-- fractional digits), so nothing passes through binary floating point.
CREATE TABLE coupons (
  account_id          TEXT    NOT NULL,
  livemode            INTEGER NOT NULL,
  id                  TEXT    NOT NULL,
  code                TEXT    NOT NULL,
  type                TEXT    NOT NULL,
  value               TEXT    NOT NULL,
  currency            TEXT,
  duration            TEXT    NOT NULL,
  duration_in_cycles  INTEGER,
  max_redemptions     INTEGER,
  times_redeemed      INTEGER NOT NULL,
  expires_at          INTEGER,
  product_ids         TEXT,
  archived_at         INTEGER,
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
-- A code names one coupon per account and mode, archived or not, so an old code never changes meaning.
CREATE UNIQUE INDEX coupons_code ON coupons (account_id, livemode, code);
CREATE INDEX coupons_recent ON coupons (account_id, livemode, created_at, id);

CREATE TABLE coupon_redemptions (
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  id               TEXT    NOT NULL,
  coupon_id        TEXT    NOT NULL,
  customer_id      TEXT    NOT NULL,
  subscription_id  TEXT,
  invoice_id       TEXT,
  cycles_applied   INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
-- A subscription carries at most one coupon.
CREATE UNIQUE INDEX coupon_redemptions_subscription ON coupon_redemptions (account_id, livemode, subscription_id) WHERE subscription_id IS NOT NULL;

CREATE TABLE tax_rates (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  country      TEXT    NOT NULL,
  state        TEXT,
  percentage   TEXT    NOT NULL,
  inclusive    INTEGER NOT NULL,
  archived_at  INTEGER,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX tax_rates_recent ON tax_rates (account_id, livemode, created_at, id);

-- What the account owes each customer, per currency; the ledger's account 2000 sums to the same.
CREATE TABLE customer_credit_balances (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  currency     TEXT    NOT NULL,
  balance      INTEGER NOT NULL CHECK (balance >= 0),
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, currency)
);

-- Append-only: every change of a customer credit balance and why.
CREATE TABLE customer_credit_transactions (
  account_id     TEXT    NOT NULL,
  livemode       INTEGER NOT NULL,
  id             TEXT    NOT NULL,
  customer_id    TEXT    NOT NULL,
  currency       TEXT    NOT NULL,
  type           TEXT    NOT NULL,
  amount         INTEGER NOT NULL,
  balance_after  INTEGER NOT NULL,
  description    TEXT,
  invoice_id     TEXT,
  credit_note_id TEXT,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX customer_credit_transactions_customer ON customer_credit_transactions (account_id, livemode, customer_id, created_at, id);

CREATE TABLE credit_notes (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  invoice_id   TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  currency     TEXT    NOT NULL,
  amount       INTEGER NOT NULL,
  reason       TEXT    NOT NULL,
  refund       TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  refund_id    TEXT,
  lines        TEXT,
  created_at   INTEGER NOT NULL,
  voided_at    INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX credit_notes_invoice ON credit_notes (account_id, livemode, invoice_id, created_at, id);
CREATE INDEX credit_notes_customer ON credit_notes (account_id, livemode, customer_id, created_at, id);
CREATE INDEX credit_notes_recent ON credit_notes (account_id, livemode, created_at, id);
