-- One marker row per group-commit batch (balance engine, meter ingest), written in the batch's own
-- transaction. When a COMMIT's acknowledgement is lost, a fence row with the same id settles whether
-- the batch committed (the marker is there) or not (the fence is stored, so it never can), before
-- anything runs again. Markers are purged after a day; an outcome is settled within seconds.
CREATE TABLE group_commits (
  batch_id    TEXT    NOT NULL PRIMARY KEY,
  fenced      INTEGER NOT NULL,
  created_at  BIGINT  NOT NULL
);
CREATE INDEX group_commits_by_created ON group_commits (created_at);
