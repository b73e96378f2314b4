-- Every text column compares its bytes (COLLATE "C"), whatever the database's collation. Kassa's text keys are
-- ids, codes and names that only need equality and a stable order; a linguistic collation (en_US.UTF-8, and
-- C.UTF-8 too on PostgreSQL 15, which only takes the byte path for "C"/"POSIX") made every B-tree descent and
-- sort call strcoll: `_bt_compare`, `varstr_cmp` and `strcoll` led a perf profile of ingest, and a database
-- created with LC_COLLATE 'C' was 5-20 % faster on ingest and checks in every alternated pair (bench/README.md,
-- 2026-12-03). It also orders ids as SQLite and .NET's ordinal comparison do, so both engines page the same.
-- Equality is unchanged (deterministic collations already compare bytes to break ties), so no unique key can
-- start to collide. Only the collation changes, so no table is rewritten; each index on a text column is
-- rebuilt (on a large store the upgrade takes as long as building those indexes once). A test holds every
-- later migration to the same (PostgresCollationTests): declare new text columns COLLATE "C".
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.table_name, string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', c.column_name), ', ' ORDER BY c.ordinal_position) AS alters
    FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
    WHERE c.table_schema = current_schema() AND c.data_type = 'text' AND c.collation_name IS DISTINCT FROM 'C'
    GROUP BY c.table_name ORDER BY c.table_name
  LOOP
    EXECUTE format('ALTER TABLE %I %s', t.table_name, t.alters);
  END LOOP;
END
$$;
