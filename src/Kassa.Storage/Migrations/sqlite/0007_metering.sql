-- Metering: meters, raw events (deduplicated by id per account and mode), hourly rollups.
CREATE TABLE meters (
  account_id      TEXT    NOT NULL,
  livemode        INTEGER NOT NULL,
  id              TEXT    NOT NULL,
  name            TEXT    NOT NULL,
  event_name      TEXT    NOT NULL,
  aggregation     TEXT    NOT NULL,
  value_property  TEXT,
  group_by        TEXT    NOT NULL,
  filter          TEXT    NOT NULL,
  feature_id      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);

-- The primary key is the dedupe: an insert of an id already stored does nothing, decided in the
-- inserting transaction. WITHOUT ROWID: the key is the table, so an insert writes one b-tree, not two.
CREATE TABLE meter_events (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  ts           INTEGER NOT NULL,
  properties   TEXT    NOT NULL,
  received_at  INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
) WITHOUT ROWID;
CREATE INDEX meter_events_by_customer ON meter_events (account_id, livemode, customer_id, ts);
CREATE INDEX meter_events_by_time ON meter_events (account_id, livemode, ts);

-- Sum, count, min, max and latest (by event time; on a tie the greater value) per meter, customer,
-- hour and group values; quantities in micro-units. Maintained in the ingest transaction.
CREATE TABLE meter_rollups (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  meter_id     TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  hour         INTEGER NOT NULL,
  group_key    TEXT    NOT NULL,
  count        INTEGER NOT NULL,
  sum          INTEGER NOT NULL,
  min          INTEGER NOT NULL,
  max          INTEGER NOT NULL,
  latest       INTEGER NOT NULL,
  latest_at    INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, meter_id, customer_id, hour, group_key)
) WITHOUT ROWID;

-- unique_count: the distinct values seen per hour, so any window's count is exact.
CREATE TABLE meter_unique_values (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  meter_id     TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  hour         INTEGER NOT NULL,
  group_key    TEXT    NOT NULL,
  value        TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, meter_id, customer_id, hour, group_key, value)
) WITHOUT ROWID;
