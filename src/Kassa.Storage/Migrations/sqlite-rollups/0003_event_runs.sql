-- Runs in front of the SQLite customer-ordered event index (ADR 0006, "The customer index behind runs"). A roll
-- inserting straight into meter_event_index dirtied about one page per customer it touched, whatever the roll's
-- size: with 10,000 customers, ~10,000 pages written, checksummed and checkpointed a roll, the SQLite roller's
-- bound beside ingest. Now a roll appends its events here as one run (keyed by the roll's first position, so
-- the insert writes at the right edge of the tree), and moves one bucket of customers (a stable hash of the
-- customer id, 16 buckets) from every run into meter_event_index: each customer's entries reach the index
-- once every 16 rolls, 16 rolls' worth at a time, so the index takes a sixteenth of the page writes per event.
-- A run is empty 15 rolls after it was written (its own roll moved one bucket, the next 15 the others) and
-- leaves meter_event_run_list then; the customer reads look up the index and each listed run.
CREATE TABLE meter_event_runs (
  run          INTEGER NOT NULL,
  bucket       INTEGER NOT NULL,
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  ts           INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  PRIMARY KEY (run, bucket, account_id, livemode, customer_id, ts, id)
) WITHOUT ROWID;

-- The runs holding entries, with the roll that wrote each (the roll count below when it ran).
CREATE TABLE meter_event_run_list (
  run   INTEGER NOT NULL PRIMARY KEY,
  roll  INTEGER NOT NULL
);

-- Rolls that indexed events so far; roll n moves bucket n % 16.
ALTER TABLE meter_roller ADD COLUMN index_rolls INTEGER NOT NULL DEFAULT 0;
