-- pgbench script for bench/ceiling.sh: one transaction as the server's group commit writes it, 8,000
-- events of which a fifth repeat stored ids, built inside PostgreSQL so no client, driver or HTTP cost
-- is counted (building them takes ~1 % of the transaction). Then, as the server does: the events
-- inserted with ON CONFLICT DO NOTHING RETURNING what was new, and from those only, the rollup cells of
-- the bench's three meters (a sum by model, a count, a unique count) upserted in key order.
-- Variables (pgbench -D): spread (seconds back the timestamps spread over), rollups (1 or 0: 0 since issue 14
-- moved the rollups to the roller; 1 for the variants that measure the transaction before it).
\set repeat_of random(1, 1000000000)
SELECT last_value AS stored_ids FROM ceiling_ids \gset
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS ceiling_new (customer_id TEXT, ts BIGINT, model TEXT, tokens BIGINT, usr TEXT) ON COMMIT DELETE ROWS;
WITH fresh AS (
  SELECT 'evt_' || lpad(nextval('ceiling_ids')::text, 12, '0') AS id,
         'bench_mtr_' || floor(random() * 10000)::int AS customer_id,
         (extract(epoch FROM now())::bigint - floor(random() * (:spread + 1))::bigint) * 1000000 AS ts,
         (ARRAY['gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'llama-70b'])[1 + floor(random() * 4)::int] AS model,
         1 + floor(random() * 5000)::bigint AS tokens, 'user_' || floor(random() * 50)::int AS usr
  FROM generate_series(1, 6400)),
repeats AS (
  SELECT 'evt_' || lpad((1 + (:repeat_of + g * 7919) % :stored_ids)::text, 12, '0') AS id,
         'bench_mtr_0' AS customer_id, 0::bigint AS ts, 'gpt-4o' AS model, 1::bigint AS tokens, 'user_0' AS usr
  FROM generate_series(1, 1600) g),
stored AS (
  INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at)
  SELECT 'acct_bench', false, id, 'bench_llm', customer_id, ts,
         json_build_object('model', model, 'tokens', tokens, 'user', usr)::text, ts
  FROM (SELECT * FROM fresh UNION ALL SELECT * FROM repeats) e ORDER BY id
  ON CONFLICT DO NOTHING RETURNING customer_id, ts, properties)
INSERT INTO ceiling_new SELECT customer_id, ts, properties::json->>'model', (properties::json->>'tokens')::bigint, properties::json->>'user' FROM stored;
\if :rollups
INSERT INTO meter_rollups (account_id, livemode, meter_id, customer_id, hour, group_key, count, sum, min, max, latest, latest_at)
SELECT 'acct_bench', false, meter_id, customer_id, hour, group_key, count(*), sum(v), min(v), max(v), max(v), max(ts)
FROM (SELECT 'bench_tokens' AS meter_id, customer_id, ts - ts % 3600000000 AS hour, '["' || model || '"]' AS group_key, tokens * 1000000 AS v, ts FROM ceiling_new
      UNION ALL
      SELECT 'bench_requests', customer_id, ts - ts % 3600000000, '[]', 1000000, ts FROM ceiling_new) c
GROUP BY meter_id, customer_id, hour, group_key ORDER BY meter_id, customer_id, hour, group_key
ON CONFLICT (account_id, livemode, meter_id, customer_id, hour, group_key) DO UPDATE SET
  count = meter_rollups.count + excluded.count, sum = meter_rollups.sum + excluded.sum,
  min = LEAST(meter_rollups.min, excluded.min), max = GREATEST(meter_rollups.max, excluded.max),
  latest = CASE WHEN excluded.latest_at > meter_rollups.latest_at THEN excluded.latest ELSE meter_rollups.latest END,
  latest_at = GREATEST(meter_rollups.latest_at, excluded.latest_at);
INSERT INTO meter_unique_values (account_id, livemode, meter_id, customer_id, hour, group_key, value)
SELECT DISTINCT 'acct_bench', false, 'bench_users', customer_id, ts - ts % 3600000000, '[]', usr FROM ceiling_new
ORDER BY 4, 5, 7
ON CONFLICT DO NOTHING;
\endif
COMMIT;
