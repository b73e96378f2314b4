-- The event index (ADR 0006, "The event index"): the meter events' customer and time order, which the list
-- and usage queries read, kept by the roller for the events behind the watermark and written in the roll that
-- moves the watermark past them — as SQLite keeps them in its rollups file since sqlite migration 0025. The
-- ingest transaction then writes an event's row, its dedupe key and its position (txid), nothing more: the two
-- indexes dropped below were two of the four b-trees every ingested event was inserted into at a random
-- place (measured: 24,000 against 37,600 accepted events/s with the roller running, 10,000 customers).
-- The events above the watermark are read by position (meter_events_by_txid), a few thousand while the roller keeps up.
-- Two tables, each keyed for its reads: one customer's events in time order (usage and lists of a customer), and
-- every customer's in time order (a meter's usage across customers, GET /v1/meter_events without
-- customer_id, rebuilds).
CREATE TABLE meter_event_index (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  customer_id  TEXT    NOT NULL,
  ts           BIGINT  NOT NULL,
  id           TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, ts, id)
);
CREATE TABLE meter_event_times (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  ts           BIGINT  NOT NULL,
  id           TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, ts, id)
);

-- The events already behind the watermark (or stored before the roller, txid NULL), filled here with the roller's row
-- locked so that no roll of a node of this version moves the watermark meanwhile. A node of an older version
-- must be stopped before the upgrade: its rolls would move the watermark without indexing (docs/operations.md).
SELECT watermark FROM meter_roller WHERE id = 1 FOR UPDATE;
INSERT INTO meter_event_index (account_id, livemode, customer_id, ts, id, event_name)
  SELECT account_id, livemode, customer_id, ts, id, event_name FROM meter_events
  WHERE txid IS NULL OR txid < (SELECT watermark FROM meter_roller WHERE id = 1)
  ORDER BY account_id, livemode, customer_id, ts, id;
INSERT INTO meter_event_times (account_id, livemode, ts, id, customer_id, event_name)
  SELECT account_id, livemode, ts, id, customer_id, event_name FROM meter_events
  WHERE txid IS NULL OR txid < (SELECT watermark FROM meter_roller WHERE id = 1)
  ORDER BY account_id, livemode, ts, id;

DROP INDEX meter_events_by_customer;
DROP INDEX meter_events_by_time;
