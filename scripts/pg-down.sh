#!/usr/bin/env bash
# Stops the cluster started by scripts/pg-up.sh.
set -u
dir=${1:-${KASSA_PG_DIR:-$(pwd)/.test-pg}}
bin=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  if [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ]; then bin=$candidate; break; fi
done
[ -n "$bin" ] && [ -d "$dir/data" ] || exit 0
if [ "$(id -u)" = "0" ]; then
  su postgres -s /bin/bash -c "'$bin/pg_ctl' -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true
else
  "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
fi
