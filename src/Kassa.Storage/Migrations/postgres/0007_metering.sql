-- Metering: meters, raw events (deduplicated by id per account and mode), hourly rollups.
CREATE TABLE meters (
  account_id      TEXT    NOT NULL,
  livemode        BOOLEAN NOT NULL,
  id              TEXT    NOT NULL,
  name            TEXT    NOT NULL,
  event_name      TEXT    NOT NULL,
  aggregation     TEXT    NOT NULL,
  value_property  TEXT,
  group_by        TEXT    NOT NULL,
  filter          TEXT    NOT NULL,
  feature_id      TEXT,
  created_at      BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);

-- The primary key is the dedupe: an insert of an id already stored does nothing, decided in the
-- inserting transaction (ON CONFLICT DO NOTHING).
CREATE TABLE meter_events (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  id           TEXT    NOT NULL,
  event_name   TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  ts           BIGINT  NOT NULL,
  properties   TEXT    NOT NULL,
  received_at  BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX meter_events_by_customer ON meter_events (account_id, livemode, customer_id, ts);
CREATE INDEX meter_events_by_time ON meter_events (account_id, livemode, ts);

-- Sum, count, min, max and latest (by event time; on a tie the greater value) per meter, customer,
-- hour and group values; quantities in micro-units. Maintained in the ingest transaction.
CREATE TABLE meter_rollups (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  meter_id     TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  hour         BIGINT  NOT NULL,
  group_key    TEXT    NOT NULL,
  count        BIGINT  NOT NULL,
  sum          BIGINT  NOT NULL,
  min          BIGINT  NOT NULL,
  max          BIGINT  NOT NULL,
  latest       BIGINT  NOT NULL,
  latest_at    BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, meter_id, customer_id, hour, group_key)
);

-- unique_count: the distinct values seen per hour, so any window's count is exact.
CREATE TABLE meter_unique_values (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  meter_id     TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  hour         BIGINT  NOT NULL,
  group_key    TEXT    NOT NULL,
  value        TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, meter_id, customer_id, hour, group_key, value)
);
