#!/usr/bin/env bash
# PostgreSQL's own ceiling for the two mutation targets of issue 14 (`POST /v1/credit_grants` and
# `PUT /v1/customers/{id}`, each >= 0.12 of /healthz), to read bench/wrk.sh's figures against: the same
# schema (the real migrations), the same rows and statements the server's mutation batches write, driven by
# pgbench (a C client) with no HTTP, JSON, .NET or Npgsql on the way. Four clients, as the server's four
# mutation writer loops; BATCH requests a transaction, as a loop's batch.
#
# Three statement patterns (MODES) for each operation:
#   request    every statement its own round trip, a savepoint per request (the server's pattern up to
#              2026-12-06: read the customer, the feature and the balance, then write, one request after another)
#   pipelined  the same statements, savepoints included, sent in one round trip a batch (pgbench pipeline)
#   batched    the floor: one statement per table for the whole batch (every customer read in one SELECT,
#              every bucket in one INSERT, …), no savepoints, one round trip
# A grant: the customer (FOR UPDATE), the feature, the balance's header (FOR UPDATE), buckets and held locks
# read; a bucket and a credit transaction inserted (a grant that only adds credit leaves the header as it was,
# as the server does since 2026-12-06); an outbox event and an audit record appended. An update: the customer read (FOR UPDATE) and updated; an event and an audit record appended.
#
# Two more operations, for the check targets (check+send_event, >= 0.20 uniform and >= 0.35 hot of /healthz on
# PostgreSQL): a batch of BATCH checks as the server's balance loop sends it (only the batched pattern: the server
# sends nothing else) — the group-commit marker, the customers, the feature, the headers (FOR UPDATE), buckets and
# held locks read for every customer of the batch in one statement each, every touched bucket updated in one
# statement and a credit movement a check inserted in one. check: BATCH random customers, two clients (the server's
# two balance loops, PostgreSQL's default); check_hot: one customer, one client (a customer's checks go to one loop,
# whose batches wait for each other's row locks).
#
# The baseline is /healthz of a fresh server (SQLite, wrk, CONNECTIONS connections) measured in the same run,
# as bench/wrk.sh measures it. Prints one line per run:
#   [ceiling-mutations] op=grant mode=request per_s=… ratio=… cpu_us=… busy=…
# cpu_us is the whole machine's busy CPU time (/proc/stat) per operation: PostgreSQL and pgbench together.
#
# Usage: bench/ceiling-mutations.sh
# Environment: SECONDS_PER_RUN (15), BATCH (8; the server's check batches are ~15), OPS ("grant update"; also check,
#   check_hot), MODES ("request pipelined batched"; check and check_hot run batched only),
#   CUSTOMERS (10000), CONNECTIONS (64), KASSA_TEST_PG (unset: a throwaway cluster is started),
#   KASSA_SERVER_BIN (unset: the server is built; HEALTHZ=0 skips the baseline and prints no ratio)
# Needs pgbench (postgresql-client) and wrk.
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
BATCH=${BATCH:-8}
OPS=${OPS:-grant update}
MODES=${MODES:-request pipelined batched}
CUSTOMERS=${CUSTOMERS:-10000}
CONNECTIONS=${CONNECTIONS:-64}
HEALTHZ=${HEALTHZ:-1}
bench_script=ceiling-mutations.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v pgbench >/dev/null || { log "needs pgbench (postgresql-client)"; exit 2; }
[ "$HEALTHZ" = 0 ] || command -v wrk >/dev/null || { log "needs wrk for the /healthz baseline (apt-get install wrk), or HEALTHZ=0"; exit 2; }
[ "$BATCH" -ge 1 ] && [ "$BATCH" -le 64 ] || { log "BATCH must be from 1 to 64 (the server's PostgreSQL batches stop at 64)"; exit 2; }
for op in $OPS; do case $op in grant | update | check | check_hot) ;; *) log "unknown op '$op' (grant, update, check, check_hot)"; exit 2 ;; esac; done
for mode in $MODES; do case $mode in request | pipelined | batched) ;; *) log "unknown mode '$mode' (request, pipelined, batched)"; exit 2 ;; esac; done

make_tmpdir kassa-ceiling

# --- the /healthz baseline, as bench/wrk.sh measures it ---------------------------------------------------
healthz=""
if [ "$HEALTHZ" != 0 ]; then
  use_server_bin
  start_server sqlite "Data Source=$tmpdir/kassa.db"
  wrk -t2 -c"$CONNECTIONS" -d5s "$url/healthz" >/dev/null
  healthz=$(wrk -t2 -c"$CONNECTIONS" -d8s "$url/healthz" | awk '/Requests\/sec:/ { print $2 }')
  stop_server
  log "/healthz: $healthz requests/s"
fi

# --- the database: migrated, then CUSTOMERS customers with a balance of one feature --------------------------
prepare_postgres
for script in src/Kassa.Storage/Migrations/postgres/*.sql; do
  psql_db -f "$script" >/dev/null
done
acct=acct_ceiling
psql_db <<SQL
INSERT INTO features (account_id, livemode, id, name, type, created_at, updated_at)
VALUES ('$acct', false, 'api_calls', 'API calls', 'metered', 0, 0);
INSERT INTO customers (account_id, livemode, id, name, metadata, created_at, updated_at)
SELECT '$acct', false, 'cus_' || g, 'Customer ' || g, '{}', 0, 0 FROM generate_series(0, $CUSTOMERS - 1) g;
INSERT INTO feature_balances (account_id, livemode, customer_id, feature_id, entity_id, overage, overage_policy, unlimited,
  allowance, reset, anchor, period_start, rollover, version, updated_at)
SELECT '$acct', false, 'cus_' || g, 'api_calls', '', 0, 'allowed', false, 1000000000, 'month', 0, 0, false, 0, 0
FROM generate_series(0, $CUSTOMERS - 1) g;
INSERT INTO balance_buckets (account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category,
  granted, used, held, effective_at, created_at, voided, expiry_recorded)
SELECT '$acct', false, 'cus_' || g, 'api_calls', '', 'alw_' || g, 'allowance', 0, 'paid', 1000000000, 0, 0, 0, 0, false, false
FROM generate_series(0, $CUSTOMERS - 1) g;
VACUUM ANALYZE;
SQL
psql_admin -c "CREATE DATABASE ${pg_db}_seed TEMPLATE $pg_db" >/dev/null
seed_db=${pg_db}_seed

# --- the pgbench scripts ----------------------------------------------------------------------------------
# Ids come from gen_random_uuid() (built in since PostgreSQL 13); an event's data is as long as a grant's JSON.
customer_of() { echo "'cus_' || :c$1"; }
customers_array() {
  local i out=""
  for i in $(seq "$BATCH"); do out+="${out:+, }$(customer_of "$i")"; done
  echo "ARRAY[$out]"
}

reads_of_grant() { # one customer's reads, one statement each
  local c=$1
  cat <<SQL
SELECT account_id, livemode, id, email, name, address, metadata, test_clock_id, default_payment_method_id, created_at, updated_at, deleted_at FROM customers WHERE account_id = '$acct' AND livemode = false AND id = $c FOR UPDATE;
SELECT account_id, livemode, id, name, type, unit, credit_schema, archived_at, created_at, updated_at, low_balance_threshold FROM features WHERE account_id = '$acct' AND livemode = false AND id = 'api_calls';
SELECT account_id, livemode, customer_id, feature_id, entity_id, overage, overage_policy, unlimited, allowance, reset, anchor, period_start, next_reset_at, rollover, rollover_max, subscription_id, version, updated_at, overage_price, suspended FROM feature_balances WHERE account_id = '$acct' AND livemode = false AND customer_id = $c ORDER BY customer_id, feature_id, entity_id FOR UPDATE;
SELECT account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata FROM balance_buckets WHERE account_id = '$acct' AND livemode = false AND customer_id = $c AND NOT voided AND (expires_at IS NULL OR expires_at > :ts OR NOT expiry_recorded OR held > 0);
SELECT account_id, livemode, id, customer_id, feature_id, entity_id, status, held, consumed, parts, expires_at, created_at, finalized_at FROM locks WHERE account_id = '$acct' AND livemode = false AND customer_id = $c AND status = 'held';
SQL
}

# The customers of a batch as a relation: one row each (the batched pattern's multi-row statements read it).
writes_of_grants() { # $1: a relation with column c (the customer ids)
  local rel=$1
  cat <<SQL
INSERT INTO balance_buckets (account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata) SELECT '$acct', false, c, 'api_calls', '', 'grant_' || gen_random_uuid(), 'grant', 10, 'paid', 10000000, 0, 0, :ts, NULL, :ts, false, false, NULL, NULL FROM $rel;
INSERT INTO credit_transactions (account_id, livemode, id, customer_id, feature_id, entity_id, type, amount, bucket_id, balance_after, source_type, source_id, created_at) SELECT '$acct', false, 'ctx_' || gen_random_uuid(), c, 'api_calls', '', 'grant', 10000000, 'grant_x', 1000000008000000, 'credit_grant', 'grant_x', :ts FROM $rel;
SQL
}

writes_of_updates() {
  local rel=$1
  echo "UPDATE customers SET name = 'Renamed', metadata = '{\"n\":\"' || (random() * 1e9)::bigint || '\"}', updated_at = :ts WHERE account_id = '$acct' AND livemode = false AND id IN (SELECT c FROM $rel);"
}

outbox_of() { # $1 op, $2 relation: the event and audit record of each request (written together before COMMIT by the server)
  local op=$1 rel=$2 type=credit_grant.created object=credit_grant
  [ "$op" = update ] && type=customer.updated object=customer
  cat <<SQL
INSERT INTO events (account_id, livemode, id, type, object_type, object_id, data, request_id, created_at, dispatched) SELECT '$acct', false, 'evt_' || gen_random_uuid(), '$type', '$object', c, repeat('x', 390), 'req_x', :ts, false FROM $rel;
INSERT INTO audit_events (account_id, livemode, id, created_at, actor_type, actor_id, action, object_type, object_id, request_id, changed_fields) SELECT '$acct', false, 'aud_' || gen_random_uuid(), :ts, 'api_key', 'key_x', '$type', '$object', c, 'req_x', '["amount"]' FROM $rel;
SQL
}

check_batch() { # the statements of one balance-loop batch of checks, as the server sends them (pg_stat_statements)
  local cs
  cs=$(customers_array)
  cat <<SQL
SELECT id FROM customers WHERE account_id = '$acct' AND livemode = false AND id = ANY($cs) AND deleted_at IS NULL;
SELECT account_id, livemode, id, name, type, unit, credit_schema, archived_at, created_at, updated_at, low_balance_threshold FROM features WHERE account_id = '$acct' AND livemode = false AND (id = 'api_calls' OR type = 'credit_system') ORDER BY created_at, id;
SELECT account_id, livemode, customer_id, feature_id, entity_id, overage, overage_policy, unlimited, allowance, reset, anchor, period_start, next_reset_at, rollover, rollover_max, subscription_id, version, updated_at, overage_price, suspended FROM feature_balances WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($cs) ORDER BY customer_id, feature_id, entity_id FOR UPDATE;
SELECT account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata FROM balance_buckets WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($cs) AND NOT voided AND (expires_at IS NULL OR expires_at > :ts OR NOT expiry_recorded OR held > 0);
SELECT account_id, livemode, id, customer_id, feature_id, entity_id, status, held, consumed, parts, expires_at, created_at, finalized_at FROM locks WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($cs) AND status = 'held';
UPDATE balance_buckets AS t SET granted = t.granted, used = t.used + 1000000, held = 0 FROM (SELECT DISTINCT 'alw_' || substr(c, 5) AS b FROM unnest($cs) AS c) v WHERE t.account_id = '$acct' AND t.livemode = false AND t.id = v.b;
INSERT INTO credit_transactions (account_id, livemode, id, customer_id, feature_id, entity_id, type, amount, bucket_id, balance_after, source_type, source_id, created_at) SELECT '$acct', false, 'ctx_' || gen_random_uuid(), c, 'api_calls', '', 'usage', -1000000, 'alw_' || substr(c, 5), 999000000, NULL, NULL, :ts FROM unnest($cs) AS c;
SQL
}

script_for() { # $1 op, $2 mode
  local op=$1 mode=$2 i
  echo "\\set ts 1796535504032430"
  if [ "$op" = check_hot ]; then
    for i in $(seq "$BATCH"); do echo "\\set c$i 0"; done
  else
    for i in $(seq "$BATCH"); do echo "\\set c$i random(0, $((CUSTOMERS - 1)))"; done
  fi
  [ "$mode" = request ] || echo "\\startpipeline"
  echo "BEGIN;"
  echo "SET LOCAL lock_timeout = '50ms';"
  echo "INSERT INTO group_commits (batch_id, fenced, created_at) VALUES ('gcb_' || gen_random_uuid(), 0, :ts);"
  if [ "$op" = check ] || [ "$op" = check_hot ]; then
    check_batch
  elif [ "$mode" = batched ]; then
    # Every customer of the batch in key order (two batches never wait on each other in opposite orders).
    local rel="(SELECT DISTINCT unnest($(customers_array)) AS c ORDER BY 1) cs"
    echo "SELECT account_id, livemode, id, email, name, address, metadata, test_clock_id, default_payment_method_id, created_at, updated_at, deleted_at FROM customers WHERE account_id = '$acct' AND livemode = false AND id = ANY($(customers_array)) ORDER BY id FOR UPDATE;"
    if [ "$op" = grant ]; then
      echo "SELECT account_id, livemode, id, name, type, unit, credit_schema, archived_at, created_at, updated_at, low_balance_threshold FROM features WHERE account_id = '$acct' AND livemode = false AND id = 'api_calls';"
      echo "SELECT account_id, livemode, customer_id, feature_id, entity_id, overage, overage_policy, unlimited, allowance, reset, anchor, period_start, next_reset_at, rollover, rollover_max, subscription_id, version, updated_at, overage_price, suspended FROM feature_balances WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($(customers_array)) ORDER BY customer_id, feature_id, entity_id FOR UPDATE;"
      echo "SELECT account_id, livemode, customer_id, feature_id, entity_id, id, kind, priority, category, granted, used, held, effective_at, expires_at, created_at, voided, expiry_recorded, name, metadata FROM balance_buckets WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($(customers_array)) AND NOT voided AND (expires_at IS NULL OR expires_at > :ts OR NOT expiry_recorded OR held > 0);"
      echo "SELECT account_id, livemode, id, customer_id, feature_id, entity_id, status, held, consumed, parts, expires_at, created_at, finalized_at FROM locks WHERE account_id = '$acct' AND livemode = false AND customer_id = ANY($(customers_array)) AND status = 'held';"
      # One row per request even when two requests of the batch name one customer.
      writes_of_grants "unnest($(customers_array)) AS c"
    else
      writes_of_updates "$rel"
    fi
    outbox_of "$op" "unnest($(customers_array)) AS c"
  else
    for i in $(seq "$BATCH"); do
      echo "SAVEPOINT m;"
      if [ "$op" = grant ]; then
        reads_of_grant "$(customer_of "$i")"
        writes_of_grants "(SELECT $(customer_of "$i") AS c) r"
      else
        echo "SELECT account_id, livemode, id, email, name, address, metadata, test_clock_id, default_payment_method_id, created_at, updated_at, deleted_at FROM customers WHERE account_id = '$acct' AND livemode = false AND id = $(customer_of "$i") FOR UPDATE;"
        writes_of_updates "(SELECT $(customer_of "$i") AS c) r"
      fi
    done
    outbox_of "$op" "unnest($(customers_array)) AS c"
  fi
  echo "COMMIT;"
  [ "$mode" = request ] || echo "\\endpipeline"
}

cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

for op in $OPS; do
  clients=4
  case $op in check) clients=2 ;; check_hot) clients=1 ;; esac
  for mode in $MODES; do
    if [ "$op" = check ] || [ "$op" = check_hot ]; then [ "$mode" = batched ] || continue; fi
    script_for "$op" "$mode" >"$tmpdir/$op-$mode.sql"
    psql_admin -c "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db TEMPLATE $seed_db" >/dev/null
    log "op=$op mode=$mode batch=$BATCH clients=$clients: ${SECONDS_PER_RUN}s"
    read -r busy0 idle0 < <(cpu_busy)
    PGPASSWORD=$pg_pass pgbench -h "$pg_host" -p "$pg_port" -U "$pg_user" -n -M prepared -c "$clients" -j 1 -T "$SECONDS_PER_RUN" \
      -f "$tmpdir/$op-$mode.sql" "$pg_db" >"$tmpdir/pgbench.out" 2>&1 || { cat "$tmpdir/pgbench.out" >&2; exit 1; }
    read -r busy1 idle1 < <(cpu_busy)
    if grep -q "aborted" "$tmpdir/pgbench.out"; then cat "$tmpdir/pgbench.out" >&2; exit 1; fi
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tmpdir/pgbench.out")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmpdir/pgbench.out")
    awk -v op="$op" -v mode="$mode" -v b="$BATCH" -v tps="$tps" -v h="$healthz" -v secs="$SECONDS_PER_RUN" -v f="${failed:-0}" \
      -v busy=$((busy1 - busy0)) -v idle=$((idle1 - idle0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
        per_s = tps * b
        ratio = h == "" ? "-" : sprintf("%.3f", per_s / h)
        printf "[ceiling-mutations] op=%s mode=%s batch=%d per_s=%.0f ratio=%s cpu_us=%.0f busy=%.0f%% failed_tx=%s\n",
          op, mode, b, per_s, ratio, busy / hz / (secs * per_s) * 1e6, 100 * busy / (busy + idle), f }'
  done
done
psql_admin -c "DROP DATABASE IF EXISTS $seed_db" >/dev/null
