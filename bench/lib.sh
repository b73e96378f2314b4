# Shared by the benchmark scripts (bench/platform.sh, bench/entitlements.sh, bench/metering.sh, bench/subscribe.sh, bench/wrk.sh, bench/alternate.sh and the seeded-server ones); sourced, not run. For each
# storage engine it starts a fresh server on a fresh database, runs one kassa-bench scenario against it
# and stops the server.
#
# The sourcing script sets, then calls `bench_main "$@"` (the engines):
#   bench_script      its name, prefixed to every message ("platform.sh")
#   bench_scenario    the kassa-bench scenario to run ("customers")
#   bench_result      figures go to bench/results/<bench_result>-<engine>.json ("platform")
#   bench_server_env  extra VAR=value settings for the server, an array (may be empty)
# and may set:
#   bench_args        extra kassa-bench run arguments, an array (e.g. --events 1000000)
#   bench_goals       a function called as `bench_goals ENGINE OUTPUT_FILE` after that engine's [bench]
#                     lines in the final summary, to print how the run compares with the targets
# Environment: DURATION (10s), WARMUP (2s), WORKERS (64), CUSTOMERS (10000), KASSA_TEST_PG,
# KASSA_SERVER_BIN: see the scripts' headers.
# The caller must run under `set -euo pipefail` and from the repository root.
# shellcheck shell=bash disable=SC2154  # the bench_* settings come from the sourcing script

key=sk_test_benchbenchbenchbenchbench0001
port=${BENCH_PORT:-18080}  # BENCH_PORT: another port when several benchmarks share a machine
url=http://127.0.0.1:$port
server_pid=""
pg_dir=""
pg_db=""
pg_conn=""
tmpdir=""

log() { echo "$bench_script: $*" >&2; }

# Stops the server started by start_server: SIGTERM, up to 15 s for a graceful shutdown, then SIGKILL.
stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      log "server $server_pid ignored SIGTERM for 15 s; killing it"
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# psql on the run's database ($pg_db), quiet and stopping at the first error.
psql_db() {
  PGPASSWORD=$pg_pass psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$pg_db" "$@"
}

# Sets server_bin: KASSA_SERVER_BIN, else the server built here (Release; its chatter to stderr).
use_server_bin() {
  if [ -n "${KASSA_SERVER_BIN:-}" ]; then
    server_bin=$KASSA_SERVER_BIN
  else
    log "building the server (Release)"
    dotnet build src/Kassa.Server -c Release -o bench/.out/server -nologo -v q >&2
    server_bin=bench/.out/server/kassa
  fi
}

# A fresh $tmpdir, removed by cleanup at exit. pg-up.sh runs PostgreSQL as the 'postgres' user when we are root: it
# must be able to enter this dir.
make_tmpdir() {
  tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  chmod 755 "$tmpdir"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

psql_admin() {
  PGPASSWORD=$pg_pass psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres "$@"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_server
  if [ -n "$pg_db" ]; then
    # Only matters for a long-lived KASSA_TEST_PG server; a throwaway cluster goes away below anyway.
    psql_admin -c "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true
  fi
  if [ -n "$pg_dir" ]; then
    scripts/pg-down.sh "$pg_dir" || true
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$tmpdir"
  else
    log "failed (exit $status); server logs kept in $tmpdir"
  fi
  exit "$status"
}

# Prints the value of the first of the given keys (lower case) present in a connection string.
conn_value() {
  local conn=$1 part k want
  shift
  local -a parts
  IFS=';' read -r -a parts <<<"$conn"
  for want in "$@"; do
    for part in "${parts[@]}"; do
      k=$(printf '%s' "${part%%=*}" | tr '[:upper:]' '[:lower:]' | tr -d ' ')
      if [ "$k" = "$want" ]; then
        printf '%s\n' "${part#*=}"
        return 0
      fi
    done
  done
}

http_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

# Starts the server on $url against the given --db value, logging to $tmpdir/server-<engine>.log, and
# waits (at most 120 s: the server first warms its code, up to KASSA_WARMUP_SECONDS, 30 by default) until /readyz answers 200.
start_server() {
  local engine=$1 db=$2
  local server_log=$tmpdir/server-$engine.log
  if [ "$(http_status "$url/healthz")" != "000" ]; then
    log "something already answers on $url; stop it first (it would be measured instead)"
    exit 1
  fi
  # `env` execs the server, so $! is the server's own pid. The ${…+…} form keeps an empty array legal
  # under `set -u` on every bash.
  env KASSA_BOOTSTRAP_KEY=$key Logging__LogLevel__Default=Warning ${bench_server_env[@]+"${bench_server_env[@]}"} \
    "$server_bin" serve --urls "$url" --db "$db" >"$server_log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 120))
  until [ "$(http_status "$url/readyz")" = "200" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "server ($engine) exited before it was ready; last lines of its log:"
      tail -n 40 "$server_log" >&2 || true
      server_pid=""
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "server ($engine) not ready within 120 s; last lines of its log:"
      tail -n 40 "$server_log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

run_bench() {
  local engine=$1
  local out=bench/results/$bench_result-$engine.json
  log "$engine: running kassa-bench (scenario=$bench_scenario workers=$WORKERS duration=$DURATION warmup=$WARMUP customers=$CUSTOMERS${bench_args[*]+ ${bench_args[*]}})"
  # The ${…+…} form keeps an unset or empty array legal under `set -u` on every bash.
  "$bench_bin" run --url "$url" --key "$key" --scenario "$bench_scenario" --workers "$WORKERS" \
    --duration "$DURATION" --warmup "$WARMUP" --customers "$CUSTOMERS" --json "$out" \
    ${bench_args[@]+"${bench_args[@]}"} \
    | tee "$tmpdir/bench-$engine.out"
}

# Creates a fresh database for the server: on $KASSA_TEST_PG, or on a throwaway cluster started here
# when it is unset. Sets pg_conn (server, no database) and pg_db.
prepare_postgres() {
  if [ -z "${KASSA_TEST_PG:-}" ]; then
    log "KASSA_TEST_PG unset: starting a throwaway PostgreSQL cluster"
    pg_dir=$tmpdir/pg
    # Captured first so a failing pg-up.sh stops the script (an eval of a failed $(…) would not).
    pg_env=$(scripts/pg-up.sh "$pg_dir" 55439)
    eval "$pg_env"
  fi
  pg_conn=${KASSA_TEST_PG%;}
  pg_host=$(conn_value "$pg_conn" host server)
  pg_port=$(conn_value "$pg_conn" port)
  pg_user=$(conn_value "$pg_conn" username "user id" userid user)
  pg_pass=$(conn_value "$pg_conn" password)
  pg_host=${pg_host:-127.0.0.1}
  pg_port=${pg_port:-5432}
  pg_user=${pg_user:-postgres}
  pg_db=kassa_bench_$(date +%s)_$RANDOM
  psql_admin -c "create database $pg_db"
}

bench_main() {
  DURATION=${DURATION:-10s}
  WARMUP=${WARMUP:-2s}
  WORKERS=${WORKERS:-64}
  CUSTOMERS=${CUSTOMERS:-10000}
  engines=("$@")
  [ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
  for engine in "${engines[@]}"; do
    case $engine in
      sqlite | postgres) ;;
      *) echo "$bench_script: unknown engine '$engine' (sqlite, postgres)" >&2; exit 2 ;;
    esac
  done

  make_tmpdir kassa-bench

  # --- build (its chatter goes to stderr: stdout is for figures) -----------------------------------
  use_server_bin
  build_bench_client
  [ -x "$server_bin" ] || { log "no server binary at $server_bin"; exit 1; }
  [ -x "$bench_bin" ] || { log "no kassa-bench binary at $bench_bin"; exit 1; }

  # --- engines -------------------------------------------------------------------------------------
  for engine in "${engines[@]}"; do
    case $engine in
      sqlite)
        start_server sqlite "Data Source=$tmpdir/kassa.db"
        run_bench sqlite
        stop_server
        ;;
      postgres)
        prepare_postgres
        start_server postgres "$pg_conn;Database=$pg_db"
        run_bench postgres
        stop_server
        ;;
    esac
  done

  echo
  for engine in "${engines[@]}"; do
    echo "== $engine"
    grep '^\[bench\]' "$tmpdir/bench-$engine.out" || true
    if declare -F bench_goals >/dev/null; then
      bench_goals "$engine" "$tmpdir/bench-$engine.out"
    fi
  done
}

# For every script that drives wrk on a store seeded as bench/wrk.sh seeds it (bench/wrk.sh, bench/alternate.sh and the
# seeded-server ones): checks for wrk, and sets the seeding scenario (the entitlements scenario's customers), the seed's
# result name and the server settings (the bench routes mapped, no rate limit: wrk's 64 connections share one key).
wrk_seeded_settings() {
  command -v wrk >/dev/null || { echo "$bench_script: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
  bench_scenario=entitlements
  bench_result=${bench_script%.sh}-seed
  bench_server_env=(KASSA_BENCH_ROUTES=1 KASSA_RATE_LIMIT=0)
}

# For the scripts that look inside one wrk target of bench/wrk-entitlements.lua on a seeded SQLite server
# (bench/wal-frames.sh, bench/gc-pauses.sh, bench/fsync-latency.sh): checks for wrk, settles OP (check, track,
# put_customer, credit_grant; default $1), HOT (default $2), CONNECTIONS, THREADS, WORKERS and CUSTOMERS, and defines
# run_wrk DURATION.
one_wrk_target() {
  wrk_seeded_settings
  OP=${OP:-$1}
  HOT=${HOT:-$2}
  case $OP in check | track | put_customer | credit_grant) ;; *) echo "$bench_script: unknown OP '$OP' (check, track, put_customer, credit_grant)" >&2; exit 2 ;; esac
  CONNECTIONS=${CONNECTIONS:-64}
  THREADS=${THREADS:-2}
  WORKERS=${WORKERS:-64}
  CUSTOMERS=${CUSTOMERS:-10000}
  run_wrk() {
    KEY=$key OP=$OP HOT=$HOT CUSTOMERS=$CUSTOMERS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --latency -s bench/wrk-entitlements.lua "$url"
  }
}

# Builds kassa-bench (Release; its chatter to stderr: stdout is for figures) and sets bench_bin.
build_bench_client() {
  log "building kassa-bench (Release)"
  dotnet build bench/Kassa.Bench -c Release -o bench/.out/bench -nologo -v q >&2
  bench_bin=bench/.out/bench/kassa-bench
  mkdir -p bench/results
}

# Starts the server on a fresh store of ENGINE ($1) and seeds it as bench/wrk.sh does: kassa-bench's bench_scenario,
# every target for a second after a second's warm-up, CUSTOMERS customers. The store: SQLite's $tmpdir/kassa.db,
# PostgreSQL's a new database ($pg_db; prepare_postgres).
start_seeded_server() {
  local engine=$1
  case $engine in
    sqlite) start_server sqlite "Data Source=$tmpdir/kassa.db" ;;
    postgres) prepare_postgres; start_server postgres "$pg_conn;Database=$pg_db" ;;
    *) echo "$bench_script: unknown engine '$engine' (sqlite, postgres)" >&2; exit 2 ;;
  esac
  log "$engine: seeding $CUSTOMERS customers (kassa-bench $bench_scenario, 1 s per target)"
  DURATION=1s WARMUP=1s run_bench "$engine" >/dev/null
  # What autovacuum does to a production database within a minute or so of a bulk load (its statistics, and the
  # visibility map of the inserted pages): the bench's tables were filled in the last seconds. Without statistics a
  # uniform check runs at a third of its throughput (bench/README.md, thirty-third session). A database made from
  # this one as a template (bench/alternate.sh) gets both with it.
  [ "$engine" = sqlite ] || psql_db -c "VACUUM (ANALYZE)"
}

# Starts a server on a fresh SQLite file in a new temporary directory (named $1), seeded as bench/wrk.sh seeds it.
seeded_sqlite_server() {
  wrk_seeded_settings
  make_tmpdir "$1"
  use_server_bin
  build_bench_client
  start_seeded_server sqlite
}

# Reads wrk's output; prints "<requests/s> <p50 ms> <p99 ms> <errors> <accepted events>": errors are non-2xx
# answers, socket errors and what the Lua script counted as refused ([wrk-extra] denied=… or refused=…),
# accepted what an ingest script counted.
wrk_figures() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { errors += $5 }
    /Socket errors:/ { errors += $4 + $6 + $8 + $10 }
    /\[wrk-extra\]/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "denied" || kv[1] == "refused") errors += kv[2]; if (kv[1] == "accepted") accepted = kv[2] } }
    END { printf "%.2f %.2f %.2f %d %d\n", rps, p50, p99, errors, accepted }
  ' | tr -d ','
}
