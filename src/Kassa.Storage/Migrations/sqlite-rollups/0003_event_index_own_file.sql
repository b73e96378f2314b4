-- The SQLite event index moves to a file of its own (`<db>-index`, ADR 0006 "The event index in its own file"),
-- written by an indexer loop beside the roller instead of inside each roll. The store copies these tables'
-- rows into that file before this script runs (SqliteStore.MoveEventIndexAsync); the copies here go.
-- meter_roller.events_indexed stays, unused.
DROP TABLE meter_event_index;
DROP TABLE meter_event_times;
