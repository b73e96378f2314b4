-- Manual invoices (spec §7) and the double-entry ledger (spec §9), first slice of issue 12.
-- Figures are integers in minor units; a line's quantity is micro-units and its unit amount an exact
-- decimal kept as text, so nothing passes through binary floating point.
CREATE TABLE invoices (
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  id               TEXT    NOT NULL,
  customer_id      TEXT    NOT NULL,
  subscription_id  TEXT,
  number           TEXT,
  status           TEXT    NOT NULL,
  currency         TEXT    NOT NULL,
  description      TEXT,
  period_start     INTEGER,
  period_end       INTEGER,
  subtotal         INTEGER NOT NULL,
  discount         INTEGER NOT NULL,
  tax              INTEGER NOT NULL,
  total            INTEGER NOT NULL,
  amount_paid      INTEGER NOT NULL,
  amount_due       INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  finalized_at     INTEGER,
  voided_at        INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
-- A number is given once per account and mode; the counter below makes them gap-free, this makes a
-- duplicate impossible even if that logic were ever wrong.
CREATE UNIQUE INDEX invoices_number ON invoices (account_id, livemode, number) WHERE number IS NOT NULL;
CREATE INDEX invoices_recent ON invoices (account_id, livemode, created_at, id);
CREATE INDEX invoices_customer ON invoices (account_id, livemode, customer_id, created_at, id);

CREATE TABLE invoice_lines (
  account_id           TEXT    NOT NULL,
  livemode             INTEGER NOT NULL,
  invoice_id           TEXT    NOT NULL,
  id                   TEXT    NOT NULL,
  type                 TEXT    NOT NULL,
  description          TEXT    NOT NULL,
  quantity_micros      INTEGER NOT NULL,
  unit_amount_decimal  TEXT,
  amount               INTEGER NOT NULL,
  created_at           INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, invoice_id, id)
);

-- The last invoice number handed out per account and mode, incremented inside the finalize
-- transaction: a rollback gives the number back, so numbers have no gaps.
CREATE TABLE invoice_counters (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  last_number  INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode)
);

CREATE TABLE ledger_entries (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  currency     TEXT    NOT NULL,
  description  TEXT    NOT NULL,
  source_type  TEXT    NOT NULL,
  source_id    TEXT    NOT NULL,
  action       TEXT    NOT NULL,
  customer_id  TEXT,
  occurred_at  INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id),
  -- Nothing posts twice: one entry per movement of one source.
  UNIQUE (account_id, livemode, source_type, source_id, action)
);
CREATE INDEX ledger_entries_recent ON ledger_entries (account_id, livemode, occurred_at, id);
CREATE INDEX ledger_entries_customer ON ledger_entries (account_id, livemode, customer_id, occurred_at, id);

CREATE TABLE ledger_lines (
  account_id    TEXT    NOT NULL,
  livemode      INTEGER NOT NULL,
  entry_id      TEXT    NOT NULL,
  account_code  TEXT    NOT NULL,
  currency      TEXT    NOT NULL,
  debit         INTEGER NOT NULL,
  credit        INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, entry_id, account_code)
);
-- The trial balance sums lines per currency and account code.
CREATE INDEX ledger_lines_balance ON ledger_lines (account_id, livemode, currency, account_code);
