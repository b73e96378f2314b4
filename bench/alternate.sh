#!/usr/bin/env bash
# Several server configurations measured in alternation on copies of one seeded store: the way to compare two
# builds or settings on a noisy machine, where two runs minutes apart differ more than most changes do. One server
# is seeded as bench/wrk.sh seeds it (kassa-bench's `entitlements` scenario, CUSTOMERS customers) and stopped; each
# configuration then gets its own server on its own copy (SQLite: the files copied; PostgreSQL: a database made from
# the seeded one as a template). All of them run at once, idle but for the one being measured: wrk drives each in
# turn for ROUND, WARM_ROUNDS rounds unreported and ROUNDS reported. Prints [alternate] lines: each round's
# requests/s and p99 per configuration, then each configuration's mean and, when a configuration measures /healthz,
# its ratio to the mean /healthz of the same rounds.
#
# Usage: CONFIGS="NAME|OP|HOT|ENV|BIN ..." bench/alternate.sh [sqlite|postgres]
#   NAME  a label (letters, digits, _ and -)
#   OP    healthz, or a target of bench/wrk-entitlements.lua: check, track, check_readonly, put_customer,
#         credit_grant, check_without_storage, check_queued, check_committed
#   HOT   1: one customer; 0: uniformly random over CUSTOMERS (ignored by healthz)
#   ENV   VAR=value settings for that server only, comma-separated (may be empty)
#   BIN   that server's binary (may be empty: KASSA_SERVER_BIN, else the Release build made here)
# Example (a setting against the default, with the baseline in the same rounds):
#   CONFIGS="hz|healthz|0|| def|check|0|| spin0|check|0|DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0|" bench/alternate.sh sqlite
# A configuration's copy can be changed before its server starts: SQL_<NAME> (the name with - as _), when set, is run
# on that copy (sqlite3 on kassa.db, or psql on its database), e.g. an index dropped to price what it costs:
#   CONFIGS="hz|healthz|0|| def|put_customer|0|| noobj|put_customer|0||" SQL_noobj="DROP INDEX events_by_object" bench/alternate.sh postgres
# Environment: ROUND (5s), ROUNDS (4), WARM_ROUNDS (3), CONNECTIONS (64), THREADS (2), CUSTOMERS (10000),
#   KASSA_TEST_PG and KASSA_SERVER_BIN as for bench/wrk.sh. Needs wrk.
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=alternate.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
wrk_seeded_settings
[ -n "${CONFIGS:-}" ] || { echo "alternate.sh: set CONFIGS (see the header)" >&2; exit 2; }
engine=${1:-sqlite}
case $engine in sqlite | postgres) ;; *) echo "alternate.sh: unknown engine '$engine' (sqlite, postgres)" >&2; exit 2 ;; esac
ROUND=${ROUND:-5s}
ROUNDS=${ROUNDS:-4}
WARM_ROUNDS=${WARM_ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
CUSTOMERS=${CUSTOMERS:-10000}
WORKERS=${WORKERS:-64}
# At most this many servers at once: each holds its own store, pool and warmed-up code.
configs_max=8

names=() ops=() hots=() envs=() bins=() ports=() pids=() dbs=()
for config in $CONFIGS; do
  IFS='|' read -r name op hot env bin <<<"$config"
  [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { echo "alternate.sh: bad name in '$config'" >&2; exit 2; }
  case $op in
    healthz | check | track | check_readonly | put_customer | credit_grant | check_without_storage | check_queued | check_committed) ;;
    *) echo "alternate.sh: unknown OP '$op' in '$config'" >&2; exit 2 ;;
  esac
  names+=("$name") ops+=("$op") hots+=("${hot:-0}") envs+=("$env") bins+=("$bin")
done
[ ${#names[@]} -le $configs_max ] || { echo "alternate.sh: at most $configs_max configurations" >&2; exit 2; }

# Stops every configuration's server and drops its database, then lib.sh's cleanup (the seeding server, $pg_db, $tmpdir).
alternate_cleanup() {
  local status=$? i
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null || true; done
  for i in "${!dbs[@]}"; do psql_admin -c "drop database if exists ${dbs[$i]} with (force)" >/dev/null 2>&1 || true; done
  (exit "$status")
  cleanup
}

# --- one seeded store -----------------------------------------------------------------------------------
make_tmpdir kassa-alternate
trap alternate_cleanup EXIT
use_server_bin
default_bin=$server_bin
build_bench_client
start_seeded_server "$engine"
# Stopped before it is copied: a clean shutdown leaves the store whole, and a template must have no connections.
# The copies take the seeded store's statistics with them (start_seeded_server analyzed it): a database made from a
# template starts with no activity counted, so autovacuum would never analyze them by itself.
stop_server

# --- one server per configuration -----------------------------------------------------------------------
for i in "${!names[@]}"; do
  ports[$i]=$((port + 1 + i))
  if [ "$engine" = sqlite ]; then
    mkdir "$tmpdir/${names[$i]}"
    cp "$tmpdir"/kassa.db* "$tmpdir/${names[$i]}/"
    db="Data Source=$tmpdir/${names[$i]}/kassa.db"
  else
    dbs[$i]=${pg_db}_$i
    psql_admin -c "create database ${dbs[$i]} template $pg_db"
    db="$pg_conn;Database=${dbs[$i]}"
  fi
  sql_var=SQL_${names[$i]//-/_}
  if [ -n "${!sql_var:-}" ]; then
    log "${names[$i]}: $sql_var"
    if [ "$engine" = sqlite ]; then sqlite3 "$tmpdir/${names[$i]}/kassa.db" "${!sql_var}"; else psql_admin -d "${dbs[$i]}" -c "${!sql_var}"; fi
  fi
  IFS=',' read -r -a extra <<<"${envs[$i]}"
  env KASSA_BOOTSTRAP_KEY=$key Logging__LogLevel__Default=Warning "${bench_server_env[@]}" ${extra[@]+"${extra[@]}"} \
    "${bins[$i]:-$default_bin}" serve --urls "http://127.0.0.1:${ports[$i]}" --db "$db" >"$tmpdir/server-${names[$i]}.log" 2>&1 &
  pids[$i]=$!
done
for i in "${!names[@]}"; do
  deadline=$((SECONDS + 180))
  until [ "$(http_status "http://127.0.0.1:${ports[$i]}/readyz")" = "200" ]; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "server ${names[$i]} not ready; last lines of its log:"
      tail -n 30 "$tmpdir/server-${names[$i]}.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
done
log "${#names[@]} servers ready; $WARM_ROUNDS warm-up rounds, then $ROUNDS of $ROUND each"

# --- rounds ---------------------------------------------------------------------------------------------
measure() {
  local i=$1 target=http://127.0.0.1:${ports[$1]}
  if [ "${ops[$i]}" = healthz ]; then
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$ROUND" --latency "$target/healthz"
  else
    KEY=$key OP=${ops[$i]} HOT=${hots[$i]} CUSTOMERS=$CUSTOMERS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$ROUND" --latency \
      -s bench/wrk-entitlements.lua "$target"
  fi | wrk_figures
}
declare -a sums errs
for i in "${!names[@]}"; do sums[$i]=0 errs[$i]=0; done
for round in $(seq $((WARM_ROUNDS + ROUNDS))); do
  line="[alternate] round $round"
  [ "$round" -gt "$WARM_ROUNDS" ] || line="$line (warm-up)"
  for i in "${!names[@]}"; do
    read -r rps _ p99 errors _ < <(measure "$i")
    line="$line ${names[$i]}=${rps%.*}/${p99}ms"
    if [ "$round" -gt "$WARM_ROUNDS" ]; then
      sums[$i]=$(awk -v a="${sums[$i]}" -v b="$rps" 'BEGIN { printf "%.2f", a + b }')
      errs[$i]=$((errs[$i] + errors))
    fi
  done
  echo "$line"
done

# --- means and ratios -----------------------------------------------------------------------------------
baseline=0 baselines=0
for i in "${!names[@]}"; do
  if [ "${ops[$i]}" = healthz ]; then
    baseline=$(awk -v a="$baseline" -v s="${sums[$i]}" -v n="$ROUNDS" 'BEGIN { printf "%.2f", a + s / n }')
    baselines=$((baselines + 1))
  fi
done
[ $baselines -gt 0 ] && baseline=$(awk -v a="$baseline" -v n=$baselines 'BEGIN { printf "%.2f", a / n }')
for i in "${!names[@]}"; do
  mean=$(awk -v s="${sums[$i]}" -v n="$ROUNDS" 'BEGIN { printf "%.0f", s / n }')
  ratio=""
  if [ $baselines -gt 0 ] && [ "${ops[$i]}" != healthz ]; then
    ratio=" ratio=$(awk -v m="$mean" -v b="$baseline" 'BEGIN { printf "%.3f", m / b }')"
  fi
  echo "[alternate] ${names[$i]} op=${ops[$i]} hot=${hots[$i]} mean=$mean$ratio errors=${errs[$i]}"
done
