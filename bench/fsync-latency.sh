#!/usr/bin/env bash
# Where a group commit's time goes on SQLite under one wrk target, and what the WAL's fsync waits for: a fresh server on
# a fresh SQLite file, seeded as bench/wrk.sh seeds it (kassa-bench's `entitlements` scenario, CUSTOMERS customers);
# wrk runs OP (bench/wrk-entitlements.lua: check, track, put_customer, credit_grant; HOT=1 one customer, else uniform)
# for WARMUP, then again for DURATION. From two seconds into that run, the script reads the server's group-commit
# histograms from /metrics over SAMPLE seconds, then records the server's fsync/fdatasync calls, the block layer's requests and the
# scheduler's wake-ups and switches with perf for TRACE seconds. Prints wrk's rate and p99, then [phases] lines (the
# balance or mutation loop's batches a second, mean batch size, and each phase it records as a mean per batch: load,
# decide, persist and commit — the write lock's share (the mutation loop records commit only there: its requests'
# work is timed per request) — and durable, the wait for the fsync outside the lock) and [fsync-latency]
# lines (bench/fsync-latency.py: the WAL's syncs a second and each sync's time asleep on I/O and queued runnable).
#
# Usage: OP=check HOT=1 bench/fsync-latency.sh
# Environment: OP (check), HOT (1), WARMUP (15s), DURATION (12s), SAMPLE (4), TRACE (2), CONNECTIONS (64),
#   THREADS (2), CUSTOMERS (10000), KASSA_SERVER_BIN as for bench/entitlements.sh. Needs wrk, perf and python3, and
#   the rights to trace the whole system (root, or kernel.perf_event_paranoid=-1).
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=fsync-latency.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v perf >/dev/null || { echo "fsync-latency.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "fsync-latency.sh: needs python3" >&2; exit 1; }

one_wrk_target check 1
WRK_DURATION=${DURATION:-12s}
WRK_WARMUP=${WARMUP:-15s}
SAMPLE=${SAMPLE:-4}
TRACE=${TRACE:-2}
loop=balances
case $OP in put_customer | credit_grant) loop=mutations ;; esac

seeded_sqlite_server kassa-fsync-latency
log "wrk $OP (hot=$HOT): $WRK_WARMUP of warm-up, then $WRK_DURATION with ${SAMPLE}s of /metrics and ${TRACE}s of perf"
run_wrk "$WRK_WARMUP" >/dev/null
run_wrk "$WRK_DURATION" >"$tmpdir/wrk.out" &
wrk_pid=$!
sleep 2
curl -fsS "$url/metrics" >"$tmpdir/m0"
sleep "$SAMPLE"
curl -fsS "$url/metrics" >"$tmpdir/m1"
perf record -a -q -o "$tmpdir/perf.data" \
  -e syscalls:sys_enter_fsync,syscalls:sys_exit_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_exit_fdatasync \
  -e block:block_rq_issue,block:block_rq_complete,sched:sched_wakeup,sched:sched_switch -- sleep "$TRACE" >/dev/null 2>&1
wait "$wrk_pid"
awk -v op="$OP" -v hot="$HOT" '/Requests\/sec/ { r = $2 } /^ +99%/ { p = $2 } END { printf "[fsync-latency] %s hot=%s rps=%s p99=%s\n", op, hot, r, p }' "$tmpdir/wrk.out"
# The loop's histograms: kassa_group_commit_{batch_size,batch_duration_seconds,phase_duration_seconds}_{sum,count}.
awk -v loop="$loop" -v secs="$SAMPLE" '
  $1 !~ /^kassa_group_commit_/ || $1 !~ ("loop=\"" loop "\"") { next }
  { key = $1; sub(/otel_scope_name="[^"]*",?/, "", key); sub(/otel_scope_version="[^"]*",?/, "", key) }
  FNR == NR { before[key] = $2; next }
  { delta[key] = $2 - before[key] }
  END {
    for (k in delta) {
      if (k ~ /^kassa_group_commit_batch_size_count/) batches = delta[k]
      if (k ~ /^kassa_group_commit_batch_size_sum/) items = delta[k]
      if (k ~ /^kassa_group_commit_phase_duration_seconds_sum/) { match(k, /phase="[a-z]+"/); phase[substr(k, RSTART + 7, RLENGTH - 8)] = delta[k] }
    }
    if (batches == 0) { print "[phases] no batches (is the loop right for OP?)"; exit }
    printf "[phases] %s loop: %.0f batches a second of %.1f on average; per batch:", loop, batches / secs, items / batches
    n = split("load decide persist commit durable", order, " ")
    for (i = 1; i <= n; i++) if (order[i] in phase) printf " %s %.0f us", order[i], phase[order[i]] / batches * 1e6
    printf "\n"
  }' "$tmpdir/m0" "$tmpdir/m1"
perf script -i "$tmpdir/perf.data" -F comm,tid,cpu,time,event,trace 2>/dev/null >"$tmpdir/perf.txt"
python3 bench/fsync-latency.py "$tmpdir/perf.txt" "$server_pid" "$TRACE"
