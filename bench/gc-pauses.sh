#!/usr/bin/env bash
# What the server's garbage collections cost under one wrk target: a fresh server on a fresh SQLite file, seeded as
# bench/wrk.sh seeds it (kassa-bench's `entitlements` scenario, CUSTOMERS customers); wrk runs OP
# (bench/wrk-entitlements.lua: check, track, put_customer, credit_grant; HOT=1 one customer, else uniform) for WARMUP,
# then again for DURATION, while kassa-gc-trace (bench/Kassa.Bench.GcTrace) listens to the server's GC events for all
# but the first and last second of it. Prints wrk's rate and p99, then [gc] lines: collections by generation, the time
# paused (sum, mean, median, max), the bytes a gen0/gen1 collection promoted, and the mean time of the card scan
# (MarkOlder: references from older objects to younger ones written since the last collection); EACH=1 adds a line
# a collection with every marking phase.
#
# Usage: OP=credit_grant HOT=0 bench/gc-pauses.sh
# Environment: OP (credit_grant), HOT (0), WARMUP (25s), DURATION (12s), CONNECTIONS (64), THREADS (2),
#   CUSTOMERS (10000), EACH (0), KASSA_SERVER_BIN as for bench/entitlements.sh. Needs wrk.
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=gc-pauses.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

one_wrk_target credit_grant 0
WRK_DURATION=${DURATION:-12s}
WRK_WARMUP=${WARMUP:-25s}
listen=$(awk -v d="${WRK_DURATION%s}" 'BEGIN { s = int(d) - 2; if (s < 1) s = 1; print s }')

seeded_sqlite_server kassa-gc-pauses
log "building kassa-gc-trace (Release)"
dotnet build bench/Kassa.Bench.GcTrace -c Release -o bench/.out/gc-trace -nologo -v q >&2
log "wrk $OP (hot=$HOT): $WRK_WARMUP of warm-up, then $WRK_DURATION with the GC's events read for ${listen}s of it"
run_wrk "$WRK_WARMUP" >/dev/null
run_wrk "$WRK_DURATION" >"$tmpdir/wrk.out" &
wrk_pid=$!
sleep 1
each=()
[ "${EACH:-0}" = 1 ] && each=(--each)
bench/.out/gc-trace/kassa-gc-trace "$server_pid" "$listen" ${each[@]+"${each[@]}"} >"$tmpdir/gc.out"
wait "$wrk_pid"
awk -v op="$OP" -v hot="$HOT" '/Requests\/sec/ { r = $2 } /^ +99%/ { p = $2 } END { printf "[gc-pauses] %s hot=%s rps=%s p99=%s\n", op, hot, r, p }' "$tmpdir/wrk.out"
cat "$tmpdir/gc.out"
