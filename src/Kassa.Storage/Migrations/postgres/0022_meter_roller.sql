-- Metering ingest off the rollup path (ADR 0006): ingest stores raw events only; the roller folds them
-- into the hourly rollups behind a durable watermark.
--
-- txid: the writing transaction's id. Transactions commit out of order, so a sequence high-water mark
-- would skip a lower number committed after a higher one was rolled. A roll instead takes the events with
-- txid below the xmin of its snapshot: every transaction below xmin has ended, so those rows are final.
-- Added without a default first, so the rows already stored keep NULL (their rollups were written by
-- ingest itself, so they count as rolled) and the table is not rewritten; new rows get the default.
ALTER TABLE meter_events ADD COLUMN txid BIGINT;
ALTER TABLE meter_events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX meter_events_by_txid ON meter_events (txid) WHERE txid IS NOT NULL;

-- The one watermark row: an event is rolled when its txid is below it (or NULL). Rolls lock it, so
-- several processes roll each event once. rolled_through: the newest received_at folded, for the lag.
CREATE TABLE meter_roller (
  id              INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  watermark       BIGINT  NOT NULL,
  rolled_through  BIGINT,
  rolled_events   BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL
);
INSERT INTO meter_roller (id, watermark, rolled_through, rolled_events, updated_at) VALUES (1, 0, NULL, 0, 0);

-- A cell whose total passed 64-bit micro-units: the roller marks it instead of refusing the events, and a
-- usage query over it answers quantity_overflow — what a recomputation from the raw events would answer.
ALTER TABLE meter_rollups ADD COLUMN overflowed BOOLEAN NOT NULL DEFAULT false;
