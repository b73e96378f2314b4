#!/usr/bin/env bash
# Entitlements measured with a plain external load generator (wrk), so the figures do not depend on
# kassa-bench's own client. For each engine: a fresh server on a fresh database; kassa-bench's
# `entitlements` scenario run briefly to create the feature, product and CUSTOMERS customers (it also warms
# the server up: JIT, caches, connection pools); then, with wrk (CONNECTIONS connections, THREADS threads),
# a WARMUP run and a DURATION run of each target, with /healthz measured before and after the targets in the
# same run as the baseline. Prints one [wrk] line per target: requests/s, the ratio to the mean /healthz
# figure, p50/p99 latency and errors (non-2xx, socket errors, checks answered "allowed":false).
#
# Usage: bench/wrk.sh [ENGINE...]    engines: sqlite postgres (default: both, in that order)
# Environment:
#   DURATION (8s), WARMUP (15s), CONNECTIONS (64), THREADS (2), CUSTOMERS (10000)
#   (15 s a target: a fresh server needs ~40 s of load before its code is tiered up — PostgreSQL check
#   uniform measured 1,450 → 3,300 requests/s and p99 610 → 40 ms over five 8 s windows, bench/README.md)
#   ENTITLEMENTS (1; 0 skips the check and track targets: /healthz, then ingest and the roller's lag only)
#   MUTATIONS (1; 0 skips them)  PUT /v1/customers/{id} changing a field and POST /v1/credit_grants, each on a
#              uniformly random customer (bench/wrk-entitlements.lua; issue 14: >= 0.12 of /healthz, p99 <= 30 ms)
#   INGEST_CONNECTIONS (8; 0 skips ingest: each request carries 1,000 events, so 8 in flight keep the writers busy)
#   DRAIN_MAX (120)  seconds the roller-lag phase waits at most for the roller to fold the maximum's backlog
#   LAG_DURATION (30s; 0s skips it)   after the ingest maximum, the roller-lag phase: ingest paced at half
#              that maximum (accepted events/s) for LAG_DURATION, sampling kassa_meter_roller_lag_seconds
#              from /metrics every second; reports the largest lag seen (issue 14: at most 5 s)
#   KASSA_TEST_PG, KASSA_SERVER_BIN   as for bench/entitlements.sh
# Needs wrk (apt-get install wrk).
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=wrk.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
wrk_seeded_settings

WRK_DURATION=${DURATION:-8s}
WRK_WARMUP=${WARMUP:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

# Runs wrk once; prints "<requests/s> <p50 ms> <p99 ms> <errors>" on stdout.
run_wrk() {
  local duration=$1 target=$2 op=${3:-} hot=${4:-0}
  local out
  if [ "$target" = healthz ]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency "$url/healthz")
  else
    out=$(KEY=$key OP=$op HOT=$hot CUSTOMERS=$CUSTOMERS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency \
      -s bench/wrk-entitlements.lua "$url")
  fi
  printf '%s\n' "$out" >>"$tmpdir/wrk.log"
  wrk_figures <<<"$out" | cut -d' ' -f1-4
}

# Runs wrk's ingest once; prints "<batches/s> <p50 ms> <p99 ms> <errors> <accepted events>" on stdout.
# RATE (events offered per second) paces it; unset, it goes as fast as the server answers.
run_ingest() {
  local duration=$1 out
  out=$(KEY=$key CUSTOMERS=$CUSTOMERS SPREAD=300 THREADS=$THREADS RATE=${RATE:-0} wrk -t"$THREADS" -c"$INGEST_CONNECTIONS" -d"$duration" --latency --timeout 10s \
    -s bench/wrk-ingest.lua "$url")
  printf '%s\n' "$out" >>"$tmpdir/wrk.log"
  wrk_figures <<<"$out"
}

# The roller-lag phase: ingest paced at half the maximum just measured (its accepted events/s, 20 % of
# what is sent being duplicates) for LAG_DURATION, reading the roller's lag gauge from /metrics every
# second (the server refreshes it every 5 s). It starts once the roller has folded the backlog the
# maximum left (ingest at full speed outruns the roller on PostgreSQL, ~19k events/s there, by design:
# usage stays exact from raw events meanwhile), waiting at most DRAIN_MAX seconds: the target is the lag
# while ingest runs at half the maximum, not the time to fold what the maximum piled up, which is
# reported apart. Prints "<accepted events/s> <largest lag s> <lag at the end s> <errors> <drain s>".
measure_roller_lag() {
  local ingest=$1 accepted rate samples out lag drained=0
  while [ "$drained" -lt "$DRAIN_MAX" ]; do
    lag=$(curl -s "$url/metrics" | awk '/^kassa_meter_roller_lag_seconds/ { print $NF }')
    [ "$lag" = 0 ] && break
    sleep 1
    drained=$((drained + 1))
  done
  read -r _ _ _ _ accepted <<<"$ingest"
  # Offered events/s: half the accepted maximum, over the 80 % of a batch that is new.
  rate=$(awk -v a="$accepted" -v d="${WRK_DURATION%s}" 'BEGIN { printf "%.0f", a / d / 2 / 0.8 }')
  samples="$tmpdir/lag-samples"
  : >"$samples"
  # The roller's lag and, on SQLite, the event indexer's beside it (ADR 0006; "-" where there is none).
  ( while :; do curl -s "$url/metrics" | awk '/^kassa_meter_roller_lag_seconds/ { r = $NF } /^kassa_meter_indexer_lag_seconds/ { i = $NF }
      END { if (r != "") print r, (i == "" ? "-" : i) }' >>"$samples"; sleep 1; done ) &
  local sampler=$!
  out=$(RATE=$rate run_ingest "$LAG_DURATION")
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  read -r _ _ _ errors accepted <<<"$out"
  awk -v a="$accepted" -v d="${LAG_DURATION%s}" -v err="$errors" -v w="$drained" '
    { if ($1 + 0 > max) max = $1 + 0; last = $1 + 0; if ($2 == "-") none = 1; else if ($2 + 0 > imax) imax = $2 + 0 }
    END { printf "%.0f %.3f %.3f %d %d %s\n", a / d, max, last, err, w, none ? "-" : sprintf("%.2fs", imax) }' "$samples"
}

measure_engine() {
  local engine=$1
  # check_readonly (a check without send_event: reads only) has no target of its own in issue 14; it is
  # measured because it is the most frequent call of an entitlement integration.
  # check_without_storage (bench route: the check's HTTP path — authentication, body, validation, JSON answer —
  # without storage or group commit) is no target either: it is the ceiling the check targets can reach here.
  # check_queued and check_committed (bench routes) carry that decided check further: through the balance engine's
  # queue and writer loop, and also through a batch transaction of only its group-commit marker with a durable COMMIT.
  # Between them and the real check lies only the balance work: loading, deciding and writing rows.
  local targets=("check hot 1" "check uniform 0" "track hot 1" "track uniform 0" "check_readonly hot 1" "check_readonly uniform 0"
    "check_without_storage hot 1" "check_queued hot 1" "check_committed hot 1")
  [ "${ENTITLEMENTS:-1}" = 0 ] && targets=()
  # The mutations are warmed up and measured after the entitlement targets: a grant adds a bucket to the
  # customer's api_calls balance, which the checks and tracks would otherwise read.
  local mutations=("put_customer uniform 0" "credit_grant uniform 0")
  [ "${MUTATIONS:-1}" = 0 ] && mutations=()
  log "$engine: warm-up ($WRK_WARMUP per target)"
  run_wrk "$WRK_WARMUP" healthz >/dev/null
  for t in ${targets[@]+"${targets[@]}"}; do
    read -r op name hot <<<"$t"
    run_wrk "$WRK_WARMUP" "${op}_$name" "$op" "$hot" >/dev/null
  done
  local before after
  before=$(run_wrk "$WRK_DURATION" healthz)
  local results=()
  for t in ${targets[@]+"${targets[@]}"}; do
    read -r op name hot <<<"$t"
    results+=("${op}_$name $(run_wrk "$WRK_DURATION" "${op}_$name" "$op" "$hot")")
  done
  for t in ${mutations[@]+"${mutations[@]}"}; do
    read -r op name hot <<<"$t"
    run_wrk "$WRK_WARMUP" "${op}_$name" "$op" "$hot" >/dev/null
    results+=("${op}_$name $(run_wrk "$WRK_DURATION" "${op}_$name" "$op" "$hot")")
  done
  after=$(run_wrk "$WRK_DURATION" healthz)
  local ingest="" lag=""
  if [ "$INGEST_CONNECTIONS" -gt 0 ]; then
    log "$engine: creating the metering scenario's meters (kassa-bench metering, 1 s per target)"
    "$bench_bin" run --url "$url" --key "$key" --scenario metering --workers 8 --duration 1s --warmup 0s \
      --customers "$CUSTOMERS" --events 0 --ingest-spread 300 >>"$tmpdir/wrk.log" 2>&1
    run_ingest "$WRK_WARMUP" >/dev/null
    ingest=$(run_ingest "$WRK_DURATION")
    if [ "${LAG_DURATION%s}" != 0 ]; then
      lag=$(measure_roller_lag "$ingest")
    fi
  fi
  local base
  base=$(awk -v a="${before%% *}" -v b="${after%% *}" 'BEGIN { printf "%.0f", (a + b) / 2 }')
  {
    echo "[wrk] $engine healthz rps=$base (before ${before%%.*}, after ${after%%.*}) connections=$CONNECTIONS threads=$THREADS duration=$WRK_DURATION"
    for r in ${results[@]+"${results[@]}"}; do
      read -r name rps p50 p99 errors <<<"$r"
      awk -v e="$engine" -v n="$name" -v r="$rps" -v b="$base" -v p50="$p50" -v p99="$p99" -v err="$errors" \
        'BEGIN { printf "[wrk] %s %-22s rps=%-7d ratio=%.3f p50=%.2fms p99=%.2fms errors=%d\n", e, n, r, r / b, p50, p99, err }'
    done
    if [ -n "$ingest" ]; then
      read -r rps p50 p99 errors accepted <<<"$ingest"
      awk -v e="$engine" -v r="$rps" -v a="$accepted" -v d="${WRK_DURATION%s}" -v p50="$p50" -v p99="$p99" -v err="$errors" -v c="$INGEST_CONNECTIONS" \
        'BEGIN { printf "[wrk] %s ingest          batches_per_s=%.1f accepted_per_s=%.0f p50=%.2fms p99=%.2fms errors=%d connections=%d\n", e, r, a / d, p50, p99, err, c }'
    fi
    if [ -n "$lag" ]; then
      read -r accepted_rate lag_max lag_end errors drain index_max <<<"$lag"
      awk -v e="$engine" -v r="$accepted_rate" -v m="$lag_max" -v z="$lag_end" -v err="$errors" -v d="$LAG_DURATION" -v w="$drain" -v ix="$index_max" \
        'BEGIN { printf "[wrk] %s roller_lag      accepted_per_s=%.0f lag_max=%.2fs lag_end=%.2fs errors=%d duration=%s backlog_drained_in=%ds index_lag_max=%s max=5s met=%s\n", e, r, m, z, err, d, w, ix, (m <= 5 && err == 0) ? "yes" : "no" }'
    fi
  } | tee -a "$tmpdir/wrk-$engine.out"
}

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
make_tmpdir kassa-wrk
WORKERS=${WORKERS:-64}
CUSTOMERS=${CUSTOMERS:-10000}
INGEST_CONNECTIONS=${INGEST_CONNECTIONS:-8}
LAG_DURATION=${LAG_DURATION:-30s}
DRAIN_MAX=${DRAIN_MAX:-120}
use_server_bin
build_bench_client
for engine in "${engines[@]}"; do
  start_seeded_server "$engine"
  measure_engine "$engine"
  stop_server
done
echo
cat "$tmpdir"/wrk-*.out
