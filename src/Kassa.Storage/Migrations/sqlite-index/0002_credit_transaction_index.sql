-- SQLite: a customer's credit transactions in time order (ADR 0018), the customer order that main migration 0026
-- dropped from credit_transactions. The balance writer inserts a movement's row only; the indexer copies each
-- committed movement's keys here behind a watermark of its own (main's credit_transactions rowid: rows are never
-- deleted, and the single writer gives them rowids in commit order), and a customer's list reads the movements at
-- or above it by position. An entry names its movement by primary key (not by rowid, which a VACUUM may renumber).
-- Derived data only: lost, or from another moment than the main file, it is refilled.
CREATE TABLE credit_transaction_index (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, created_at, id)
) WITHOUT ROWID;

-- Runs in front of the customer order, as for the events (0001): inserted straight into credit_transaction_index, a
-- pass dirtied about one page per customer it touched (with 10,000 customers a pass of ~4,000 movements wrote
-- ~3,300 pages; the indexer thread took a fifth of the server's CPU under uniform checks). A pass appends its
-- movements here as one run (keyed by its first position: written at the right edge) and moves one bucket of
-- customers (the events' stable hash of the customer id, 16 buckets) from every run into the customer order.
CREATE TABLE credit_transaction_runs (
  run          INTEGER NOT NULL,
  bucket       INTEGER NOT NULL,
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  PRIMARY KEY (run, bucket, account_id, livemode, customer_id, created_at, id)
) WITHOUT ROWID;
-- The runs holding entries, with the pass that wrote each (at most 15).
CREATE TABLE credit_transaction_run_list (
  run   INTEGER NOT NULL PRIMARY KEY,
  pass  INTEGER NOT NULL
);

-- The one watermark row: a movement is indexed when its rowid in main's credit_transactions is below it. passes:
-- passes that indexed movements so far; pass n moves bucket n % 16.
CREATE TABLE credit_indexer (
  id                  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  watermark           INTEGER NOT NULL,
  passes              INTEGER NOT NULL,
  indexed_movements   INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
INSERT INTO credit_indexer (id, watermark, passes, indexed_movements, updated_at) VALUES (1, 1, 0, 0, 0);
