-- The rollups file (ADR 0006, "The SQLite rollups in their own file"): the roller's hourly cells, distinct
-- values and watermark live in a second SQLite database beside the main one (`<db>-rollups`), which SQLite
-- locks apart from it, so the roller writes while ingest writes. Every store connection attaches it as
-- `rollups`; only the roller's own connection attaches it writable. Same tables as the main file had
-- (migrations 0007 and 0021 there); main's 0024 moves their rows here and drops them there.

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
  -- A cell whose total passed 64-bit micro-units; a usage window over it answers quantity_overflow.
  overflowed   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, livemode, meter_id, customer_id, hour, group_key)
) WITHOUT ROWID;

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

-- The one watermark row: an event is rolled when its position (main's meter_events.seq) is below it or NULL.
CREATE TABLE meter_roller (
  id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  watermark       INTEGER NOT NULL,
  rolled_through  INTEGER,
  rolled_events   INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
INSERT INTO meter_roller (id, watermark, rolled_through, rolled_events, updated_at) VALUES (1, 1, NULL, 0, 0);
