-- The purge of group-commit markers deletes by batch id (ids are time-ordered: every id made before a time sorts
-- below the id of that time with zero random bits), so the index on created_at only cost every batch one more
-- index insert (SQLite's side of the same change is its migration 0030).
DROP INDEX group_commits_by_created;
