#!/usr/bin/env bash
# The database's own ceiling for the metering write path on this machine, to read the ingest figures of
# bench/metering.sh against: the same schema (the real migrations), the same transactions the server's
# group commit writes (8,000 events, a fifth of them repeated ids; rollups of the bench's three meters for
# the new ones, folded per cell and upserted in key order), with no HTTP, JSON parsing or .NET on the way.
#   SQLite:     bench/ceiling/sqlite_ingest.py, one writer through Python's sqlite3 (C) module
#   PostgreSQL: bench/ceiling/postgres_ingest.sql under pgbench, 4 clients (the server's 4 writer loops),
#               the events built inside the database
# Schema variants per engine:
#   raw      the server's ingest transaction since the roller (issue 14): the schema as migrated (events
#            keyed by id, indexed by commit position; no longer by customer and by time, which the roller
#            keeps since 2026-12-04, ADR 0006 "The event index"), no rollups
#   events   the dedupe key alone: no event index, no rollups (a floor no design can go under; issue 14's
#            PostgreSQL ingest target is 60 % of it)
#   full     the ingest transaction before the roller: the schema as migrated plus the rollups
#   minimal  events keyed by id (the dedupe) and the rollups
# and two timestamp spreads: SPREADS="2419200 300" (the 28 days bench/metering.sh uses, then live traffic
# stamped within the last 5 minutes).
# Prints one `[ceiling]` line per run with accepted_per_s.
#
# Usage: bench/ceiling.sh [ENGINE...]    engines: sqlite postgres (default: both)
# Environment: SECONDS_PER_RUN (20), SPREADS, VARIANTS ("raw events"; also full, minimal),
#   KASSA_TEST_PG (a PostgreSQL server without a database; unset: a throwaway cluster is started)
# Quick run: SECONDS_PER_RUN=5 VARIANTS=full SPREADS=300 bench/ceiling.sh sqlite
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
SPREADS=${SPREADS:-2419200 300}
VARIANTS=${VARIANTS:-raw events}
bench_script=ceiling.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(sqlite postgres)
for engine in "${engines[@]}"; do
  case $engine in
    sqlite) command -v python3 >/dev/null || { log "sqlite needs python3"; exit 2; } ;;
    postgres) command -v pgbench >/dev/null || { log "postgres needs pgbench (postgresql-client)"; exit 2; } ;;
    *) log "unknown engine '$engine' (sqlite, postgres)"; exit 2 ;;
  esac
done
for variant in $VARIANTS; do
  case $variant in raw | events | full | minimal) ;; *) log "unknown variant '$variant' (raw, events, full, minimal)"; exit 2 ;; esac
done

make_tmpdir kassa-ceiling

for engine in "${engines[@]}"; do
  if [ "$engine" = postgres ] && [ -z "$pg_conn" ]; then
    prepare_postgres
  fi
  for variant in $VARIANTS; do
    for spread in $SPREADS; do
      log "$engine variant=$variant spread=${spread}s: ${SECONDS_PER_RUN}s"
      if [ "$engine" = sqlite ]; then
        python3 bench/ceiling/sqlite_ingest.py src/Kassa.Storage/Migrations/sqlite "$variant" "$spread" "$SECONDS_PER_RUN" "$tmpdir/ceiling.db"
        rm -f "$tmpdir"/ceiling.db*
        continue
      fi
      # A fresh database per run, migrated with every PostgreSQL script in order.
      psql_admin -c "drop database if exists $pg_db" -c "create database $pg_db"
      for script in src/Kassa.Storage/Migrations/postgres/*.sql; do
        psql_db -f "$script" >/dev/null
      done
      drops=""
      case $variant in events | minimal) drops="DROP INDEX IF EXISTS meter_events_by_customer; DROP INDEX IF EXISTS meter_events_by_time; DROP INDEX meter_events_by_txid; ALTER TABLE meter_events ALTER COLUMN txid DROP DEFAULT;" ;; esac
      psql_db -c "CREATE SEQUENCE ceiling_ids; $drops"
      rollups=0
      case $variant in full | minimal) rollups=1 ;; esac
      PGPASSWORD=$pg_pass pgbench -h "$pg_host" -p "$pg_port" -U "$pg_user" -n -c 4 -j 2 -T "$SECONDS_PER_RUN" \
        -D spread="$spread" -D rollups="$rollups" -f bench/ceiling/postgres_ingest.sql "$pg_db" >"$tmpdir/pgbench.out" 2>&1 \
        || { cat "$tmpdir/pgbench.out" >&2; exit 1; }
      stored=$(psql_db -At -c "SELECT count(*) FROM meter_events")
      failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmpdir/pgbench.out")
      awk -v v="$variant" -v s="$spread" -v n="$stored" -v secs="$SECONDS_PER_RUN" -v f="${failed:-0}" \
        'BEGIN { printf "[ceiling] engine=postgres variant=%s spread_s=%s events=%d seconds=%s accepted_per_s=%.0f failed_tx=%s\n", v, s, n, secs, n / secs, f }'
    done
  done
done
