-- Undispatched events as rows of a small queue table instead of a flag on events (as on PostgreSQL, see
-- its 0023_event_queue.sql: updating the flag rewrote an indexed row per event). Dispatching deletes the
-- events' queue rows; the events table is append-only.
--
-- events.dispatched is no longer maintained: 1 for events dispatched before this migration, 0 for every
-- later one; nothing reads it.
CREATE TABLE event_queue (
  seq INTEGER NOT NULL PRIMARY KEY
);
INSERT INTO event_queue (seq) SELECT seq FROM events WHERE dispatched = 0;
DROP INDEX events_undispatched;

-- Every insert into events queues it in the same statement.
CREATE TRIGGER events_queue AFTER INSERT ON events WHEN NEW.dispatched = 0
BEGIN
  INSERT INTO event_queue (seq) VALUES (NEW.seq);
END;
