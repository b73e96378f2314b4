-- Manual invoices (spec §7) and the double-entry ledger (spec §9), first slice of issue 12.
-- Figures are integers in minor units; a line's quantity is micro-units and its unit amount an exact
-- decimal kept as text, so nothing passes through binary floating point.
CREATE TABLE invoices (
  account_id       TEXT    NOT NULL,
  livemode         BOOLEAN NOT NULL,
  id               TEXT    NOT NULL,
  customer_id      TEXT    NOT NULL,
  subscription_id  TEXT,
  number           TEXT,
  status           TEXT    NOT NULL,
  currency         TEXT    NOT NULL,
  description      TEXT,
  period_start     BIGINT,
  period_end       BIGINT,
  subtotal         BIGINT  NOT NULL,
  discount         BIGINT  NOT NULL,
  tax              BIGINT  NOT NULL,
  total            BIGINT  NOT NULL,
  amount_paid      BIGINT  NOT NULL,
  amount_due       BIGINT  NOT NULL,
  created_at       BIGINT  NOT NULL,
  finalized_at     BIGINT,
  voided_at        BIGINT,
  PRIMARY KEY (account_id, livemode, id)
);
-- A number is given once per account and mode; the counter below makes them gap-free, this makes a
-- duplicate impossible even if that logic were ever wrong.
CREATE UNIQUE INDEX invoices_number ON invoices (account_id, livemode, number) WHERE number IS NOT NULL;
CREATE INDEX invoices_recent ON invoices (account_id, livemode, created_at, id);
CREATE INDEX invoices_customer ON invoices (account_id, livemode, customer_id, created_at, id);

CREATE TABLE invoice_lines (
  account_id           TEXT    NOT NULL,
  livemode             BOOLEAN NOT NULL,
  invoice_id           TEXT    NOT NULL,
  id                   TEXT    NOT NULL,
  type                 TEXT    NOT NULL,
  description          TEXT    NOT NULL,
  quantity_micros      BIGINT  NOT NULL,
  unit_amount_decimal  TEXT,
  amount               BIGINT  NOT NULL,
  created_at           BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, invoice_id, id)
);

-- The last invoice number handed out per account and mode, incremented inside the finalize
-- transaction: a rollback gives the number back, so numbers have no gaps.
CREATE TABLE invoice_counters (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  last_number  BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode)
);

CREATE TABLE ledger_entries (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  id           TEXT    NOT NULL,
  currency     TEXT    NOT NULL,
  description  TEXT    NOT NULL,
  source_type  TEXT    NOT NULL,
  source_id    TEXT    NOT NULL,
  action       TEXT    NOT NULL,
  customer_id  TEXT,
  occurred_at  BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, id),
  -- Nothing posts twice: one entry per movement of one source.
  UNIQUE (account_id, livemode, source_type, source_id, action)
);
CREATE INDEX ledger_entries_recent ON ledger_entries (account_id, livemode, occurred_at, id);
CREATE INDEX ledger_entries_customer ON ledger_entries (account_id, livemode, customer_id, occurred_at, id);

CREATE TABLE ledger_lines (
  account_id    TEXT    NOT NULL,
  livemode      BOOLEAN NOT NULL,
  entry_id      TEXT    NOT NULL,
  account_code  TEXT    NOT NULL,
  currency      TEXT    NOT NULL,
  debit         BIGINT  NOT NULL,
  credit        BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, entry_id, account_code)
);
-- The trial balance sums lines per currency and account code.
CREATE INDEX ledger_lines_balance ON ledger_lines (account_id, livemode, currency, account_code);
