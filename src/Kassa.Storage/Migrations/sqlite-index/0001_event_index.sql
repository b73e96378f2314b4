-- The SQLite event index in its own file (ADR 0006, "The event index in its own file"): the events' customer and
-- time orders, which the list and usage queries read. The ingest transaction writes the events' row and dedupe
-- key only (main migration 0025 dropped the events' customer and time indexes); an indexer loop copies each
-- committed event's keys here behind a watermark of its own, beside the roller (which writes the rollups file)
-- rather than inside its rolls, so the two run on two cores. The events at or above this watermark are read by
-- position. Derived data only: lost, deleted or from another moment than the main file, it is refilled.

-- One customer's events in time order (usage and lists of a customer) and every customer's in time order
-- (a meter's usage across customers, GET /v1/meter_events without customer_id, rebuilds): two tables rather
-- than a table and an index, so that each is inserted in its own key order.
CREATE TABLE meter_event_index (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  ts           INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, ts, id)
) WITHOUT ROWID;
CREATE TABLE meter_event_times (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  ts           INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, ts, id)
) WITHOUT ROWID;

-- Runs in front of the customer order. Inserted straight into meter_event_index, a pass dirtied about one page
-- per customer it touched, whatever its size (with 10,000 customers ~10,000 pages written, checksummed and
-- checkpointed a pass). A pass appends its events here as one run instead (keyed by its first position, so
-- the insert writes at the right edge of the tree) and moves one bucket of customers (a stable hash of the
-- customer id, 16 buckets) from every run into meter_event_index: each customer's entries reach that table
-- once every 16 passes, 16 passes' worth at a time. A run is empty 15 passes after it was written (its own
-- pass moved one bucket, the next 15 the others) and leaves meter_event_run_list then.
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
-- The runs holding entries, with the pass that wrote each.
CREATE TABLE meter_event_run_list (
  run   INTEGER NOT NULL PRIMARY KEY,
  pass  INTEGER NOT NULL
);

-- The one watermark row: an event is indexed when its position (main's meter_events.seq) is below it or NULL.
-- filled: 0 until the events without a position (stored before the roller existed) and, on an upgrade, the
-- rollups file's former index are in (SqliteStore.FillEventIndexAsync). passes: passes that indexed events so
-- far; pass n moves bucket n % 16.
CREATE TABLE meter_indexer (
  id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  watermark       INTEGER NOT NULL,
  filled          INTEGER NOT NULL,
  passes          INTEGER NOT NULL,
  indexed_events  INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
INSERT INTO meter_indexer (id, watermark, filled, passes, indexed_events, updated_at) VALUES (1, 1, 0, 0, 0, 0);
