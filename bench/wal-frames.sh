#!/usr/bin/env bash
# What one SQLite commit writes, b-tree by b-tree, under one wrk target: a fresh server on a fresh SQLite file,
# seeded as bench/wrk.sh seeds it (kassa-bench's `entitlements` scenario, CUSTOMERS customers); wrk runs OP
# (bench/wrk-entitlements.lua: check, track, put_customer, credit_grant; HOT=1 one customer, else uniform) for
# WARMUP, then again for DURATION, halfway through which the database file and its WAL are copied; then
# bench/wal-frames.py reads the copy's frames. Prints [wal-frames] lines: commits read, WAL frames (pages) a
# commit, and the frames a commit of each b-tree. Every group-commit loop's commits are in the WAL (the balance
# writer's, the mutation writer's, the background workers'); under one target its loop's dominate.
#
# Usage: OP=check HOT=1 bench/wal-frames.sh
# Environment: OP (check), HOT (1), WARMUP (15s), DURATION (8s), CONNECTIONS (64), THREADS (2), CUSTOMERS (10000),
#   KASSA_SERVER_BIN as for bench/entitlements.sh. Needs wrk and python3.
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=wal-frames.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v python3 >/dev/null || { echo "wal-frames.sh: needs python3" >&2; exit 1; }

one_wrk_target check 1
WRK_DURATION=${DURATION:-8s}
WRK_WARMUP=${WARMUP:-15s}

seeded_sqlite_server kassa-wal-frames
log "wrk $OP (hot=$HOT): $WRK_WARMUP of warm-up, then $WRK_DURATION with the files copied halfway"
run_wrk "$WRK_WARMUP" >/dev/null
run_wrk "$WRK_DURATION" >"$tmpdir/wrk.out" &
wrk_pid=$!
sleep "$(awk -v d="${WRK_DURATION%s}" 'BEGIN { print d / 2 }')"
# Copied while the server writes, the WAL first: a checkpoint between the two copies only moves frames the WAL copy
# holds, or later ones, into the main file, so the copy opens as the database after the WAL copy's last commit,
# give or take pages that changed between the two copies (a page that changed b-tree meanwhile is named wrongly).
cp "$tmpdir/kassa.db-wal" "$tmpdir/copy.db-wal"
cp "$tmpdir/kassa.db" "$tmpdir/copy.db"
wait "$wrk_pid"
grep -E "Requests/sec" "$tmpdir/wrk.out" | sed "s/^/[wal-frames] $OP hot=$HOT /" | tr -s ' '
python3 bench/wal-frames.py "$tmpdir/copy.db" "$tmpdir/copy.db-wal"
