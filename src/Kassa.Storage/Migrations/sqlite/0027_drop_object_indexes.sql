-- events_by_object and audit_by_object served no SQLite query: the two lists that filter by object
-- (GET /v1/events?object_id=, the audit log's object filter) are written "@objectId IS NULL OR object_id =
-- @objectId", which SQLite's planner cannot seek on, so both walk events_by_created / audit_by_created newest
-- first and filter (EXPLAIN QUERY PLAN, 2026-12-05). Every mutation inserted into both at the object's place:
-- two random pages of the main file per customer update, grant or catalog write, most of the WAL a PUT wrote
-- (bench/README, fifteenth session). PostgreSQL keeps them: its custom plans fold the parameter and use them.
-- An object's list keeps the answer it had; giving it a seek without the write cost is the index file's job
-- (ADR 0018), not done here.
DROP INDEX IF EXISTS events_by_object;
DROP INDEX IF EXISTS audit_by_object;
