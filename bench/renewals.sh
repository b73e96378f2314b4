#!/usr/bin/env bash
# Renewal benchmark (issue 12): for each storage engine and each size, a fresh database is seeded with
# SIZE paid monthly subscriptions (a saved sandbox card each, usage past the plan's allowance), then one
# renewal round runs at the period end exactly as the renewal worker runs it — every subscription gets an
# invoice with its fee in advance and its graduated overage in arrears, finalized, numbered and posted,
# and charged. Prints each run's [bench] line, the growth from the smallest to the largest size (time per
# renewal at the largest over time per renewal at the smallest: 1.0 is perfectly linear) and a goal
# line per target:
#   - SQLite: the largest run (100,000) in at most 300 s;
#   - every engine: growth at most 1.5 (linear within noise: the larger run's indexes are deeper).
# Writes bench/results/renewals-<engine>.txt.
#
# Usage: bench/renewals.sh [ENGINE...]      engines: sqlite postgres (default: both)
# Environment:
#   SIZES         subscriptions per run, smallest first (default "10000 100000")
#   KASSA_TEST_PG a PostgreSQL server connection string without a database; unset: a throwaway cluster
# Quick run: SIZES="2000 10000" bench/renewals.sh sqlite
set -euo pipefail

cd "$(dirname "$0")/.."

SIZES=${SIZES:-"10000 100000"}
bench_script=renewals.sh
server_pid=""
pg_dir=""
pg_db=""
tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/kassa-renewals.XXXXXX")
chmod 755 "$tmpdir"
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
for engine in "${engines[@]}"; do
  case $engine in
    sqlite | postgres) ;;
    *) echo "renewals.sh: unknown engine '$engine' (sqlite, postgres)" >&2; exit 2 ;;
  esac
done

log "building kassa-bench-renewals (Release)"
dotnet build bench/Kassa.Bench.Renewals -c Release -o "$tmpdir/bin" --nologo -v quiet >/dev/null

mkdir -p bench/results
summary=$tmpdir/summary
: >"$summary"
for engine in "${engines[@]}"; do
  out=bench/results/renewals-$engine.txt
  : >"$out"
  for size in $SIZES; do
    if [ "$engine" = sqlite ]; then
      db=$tmpdir/renewals-$size.db
    else
      # A fresh database per run (the first call also starts the throwaway cluster when KASSA_TEST_PG is unset).
      prepare_postgres
      db="$pg_conn;Database=$pg_db"
    fi
    log "$engine: seeding and renewing $size subscriptions"
    "$tmpdir/bin/kassa-bench-renewals" --db "$db" --subscriptions "$size" | tee -a "$out"
    if [ "$engine" = postgres ]; then psql_admin -c "drop database if exists $pg_db with (force)" >/dev/null; pg_db=""; fi
    [ "$engine" = sqlite ] && rm -f "$db" "$db-wal" "$db-shm"
  done
  cat "$out" >>"$summary"
done

echo
cat "$summary"
awk '
  function field(name,    i) { for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "" }
  $2 == "renewals" {
    e = field("engine"); n = field("subscriptions") + 0; s = field("seconds") + 0
    if (!(e in small) || n < small[e]) { small[e] = n; ssec[e] = s }
    if (!(e in large) || n > large[e]) { large[e] = n; lsec[e] = s; lfail[e] = field("failures") }
  }
  END {
    for (e in large) {
      growth = (lsec[e] / large[e]) / (ssec[e] / small[e])
      printf "[bench] growth engine=%s from=%d to=%d per_renewal_ms_from=%.2f per_renewal_ms_to=%.2f growth=%.2f max=1.5 met=%s\n",
        e, small[e], large[e], ssec[e] * 1000 / small[e], lsec[e] * 1000 / large[e], growth, (growth <= 1.5 ? "yes" : "no")
      if (e == "sqlite")
        printf "[bench] goal engine=sqlite target=renewals subscriptions=%d seconds=%.1f max=300 failures=%s met=%s\n",
          large[e], lsec[e], lfail[e], (lsec[e] <= 300 && large[e] >= 100000 && lfail[e] == "0" ? "yes" : "no")
    }
  }
' "$summary"
