-- Metering ingest off the rollup path (ADR 0006): ingest stores raw events only; the roller folds them
-- into the hourly rollups behind a durable watermark.
--
-- seq: the event's position in commit order. SQLite has one writer, so the ingest transaction numbers its
-- rows after the highest stored position and every lower position is already committed when it commits:
-- a high-water mark is sound here. Events stored before this migration keep NULL: their rollups were
-- written by ingest itself, so they count as rolled.
ALTER TABLE meter_events ADD COLUMN seq INTEGER;
CREATE INDEX meter_events_by_seq ON meter_events (seq) WHERE seq IS NOT NULL;

-- The one watermark row: an event is rolled when its position is below it (or NULL).
-- rolled_through: the newest received_at the roller folded, for its lag.
CREATE TABLE meter_roller (
  id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  watermark       INTEGER NOT NULL,
  rolled_through  INTEGER,
  rolled_events   INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
INSERT INTO meter_roller (id, watermark, rolled_through, rolled_events, updated_at) VALUES (1, 1, NULL, 0, 0);

-- A cell whose total passed 64-bit micro-units: ingest no longer reads the cells, so the roller marks the
-- cell instead of refusing the events, and a usage query over it answers quantity_overflow — what a
-- recomputation from the raw events would answer.
ALTER TABLE meter_rollups ADD COLUMN overflowed INTEGER NOT NULL DEFAULT 0;
