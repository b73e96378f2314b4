-- PLACEHOLDER on branch wt-webhooks only: version 0018 belongs to another part of issue 13, built in
-- parallel. The migrator refuses gaps, so this empty script lets this branch run its own migration
-- (0020). DELETE THIS FILE WHEN MERGING: the other part's 0018 takes its place.
SELECT 1;
