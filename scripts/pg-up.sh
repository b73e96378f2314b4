#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on a loopback port for tests and benchmarks.
# Usage: eval "$(scripts/pg-up.sh [DIR] [PORT])"  -> exports KASSA_TEST_PG (server connection string,
# no database) and KASSA_PG_DIR. Stop it with scripts/pg-down.sh. Runs the server as a non-root user:
# as root it uses the 'postgres' system user, otherwise the current user.
set -euo pipefail
dir=${1:-$(pwd)/.test-pg}
port=${2:-55432}
bin=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then bin=$candidate; break; fi
done
if [ -z "$bin" ]; then echo "pg-up: no PostgreSQL server binaries (initdb) found" >&2; exit 3; fi

run_as() {
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

mkdir -p "$dir"
if [ "$(id -u)" = "0" ]; then chown postgres "$dir"; fi
if [ -f "$dir/data/postmaster.pid" ]; then
  run_as "'$bin/pg_ctl' -D '$dir/data' -m immediate stop" >/dev/null 2>&1 || true
fi
rm -rf "$dir/data"
run_as "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log' 2>&1"
# fsync stays on: durability figures measured against this cluster must be honest.
run_as "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB\" start >/dev/null"
echo "export KASSA_TEST_PG='Host=127.0.0.1;Port=$port;Username=postgres;Password=postgres'"
echo "export KASSA_PG_DIR='$dir'"
