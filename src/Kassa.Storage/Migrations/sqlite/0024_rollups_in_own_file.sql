-- The rollups moved to their own file (ADR 0006, "The SQLite rollups in their own file"). Before this
-- script runs, the store copied these tables' rows into the rollups file (SqliteStore.MoveRollupsAsync,
-- which replaces what a crashed earlier attempt left there); here the main file's copies go. Qualified:
-- the rollups file, attached as `rollups`, has tables of the same names.
DROP TABLE main.meter_unique_values;
DROP TABLE main.meter_rollups;
DROP TABLE main.meter_roller;
