-- The events' customer and time order moved to the rollups file, kept by the roller (ADR 0006, "The SQLite
-- event index", rollups migration 0002): the ingest transaction now writes an event's row (keyed by its
-- dedupe key) and its position, nothing more. The store fills the new index from this file before it
-- serves (SqliteStore.IndexEventsBehindAsync), so the lists and usage it answers never lack an event.
DROP INDEX main.meter_events_by_customer;
DROP INDEX main.meter_events_by_time;
