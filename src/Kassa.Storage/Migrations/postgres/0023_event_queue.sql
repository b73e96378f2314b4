-- Undispatched events as rows of a small queue table instead of a flag on events. Marking ~230 events
-- dispatched took 35 ms (pg_stat_statements, PUT /v1/customers and credit grants under load): the flag is
-- the predicate of the partial index events_undispatched, so every update was a non-HOT update that wrote
-- a new row version and a new entry in each of the five indexes of events, and the dispatcher's updates
-- took ~0.4 of a core from the requests. Dispatching now deletes the events' queue rows (one index); the
-- events table is append-only.
--
-- events.dispatched is no longer maintained: true for events dispatched before this migration, false for
-- every later one; nothing reads it.
CREATE TABLE event_queue (
  seq BIGINT NOT NULL PRIMARY KEY
);
INSERT INTO event_queue (seq) SELECT seq FROM events WHERE NOT dispatched;
DROP INDEX events_undispatched;

-- Every insert into events queues its rows in the same statement (a statement trigger: one INSERT … SELECT
-- for a multi-row insert of events, not one per row).
CREATE FUNCTION event_queue_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_queue (seq) SELECT seq FROM added WHERE NOT dispatched;
  RETURN NULL;
END
$$;
CREATE TRIGGER events_queue AFTER INSERT ON events REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION event_queue_add();
