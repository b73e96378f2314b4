-- A group-commit batch's marker row was three b-trees on SQLite: the rowid table, the unique index its TEXT
-- primary key makes (sqlite_autoindex_group_commits_1) and group_commits_by_created for the purge. Each batch
-- rewrote the right-hand page of all three: 3.2 of the 11.6 WAL frames a hot check batch committed
-- (bench/README, twenty-eighth session). Batch ids are time-ordered (the ULID layout), so one b-tree keyed
-- by the id serves the fence's lookup and the purge, which now deletes by id (every id made before a time sorts
-- below the id of that time with zero random bits). WITHOUT ROWID: the key is the table. created_at stays
-- for people reading the table; nothing seeks by it.
-- SQLite cannot change a table's key in place: the table is rebuilt (its index goes with it). It holds a day of
-- markers at most (the purge worker's retention), so the copy is short.
CREATE TABLE group_commits_rebuilt (
  batch_id    TEXT    NOT NULL PRIMARY KEY,
  fenced      INTEGER NOT NULL,
  created_at  BIGINT  NOT NULL
) WITHOUT ROWID;
INSERT INTO group_commits_rebuilt (batch_id, fenced, created_at) SELECT batch_id, fenced, created_at FROM group_commits;
DROP TABLE group_commits;
ALTER TABLE group_commits_rebuilt RENAME TO group_commits;
