#!/usr/bin/env bash
# Runs every test: build, unit tests, the HTTP suite on SQLite AND PostgreSQL, CLI tests, the
# OpenAPI lint and the contract test (every exchange of the HTTP suite validated against
# api/openapi.json, see api/README.md). This is the README's test command and what CI runs.
#
# PostgreSQL: uses $KASSA_TEST_PG when set (a server connection string without a database);
# otherwise starts a throwaway cluster on a free loopback port (scripts/pg-up.sh) and stops it
# at the end. Without PostgreSQL binaries the PostgreSQL tests skip locally, but under CI=true
# that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log=$(mktemp -t kassa-test.XXXXXX.log)
pg_dir=""

cleanup() {
  if [ -n "$pg_dir" ]; then scripts/pg-down.sh "$pg_dir" || true; rm -rf "$pg_dir"; fi
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "build"
dotnet build Kassa.slnx -c Debug -warnaserror --nologo -v quiet

if [ -z "${KASSA_TEST_PG:-}" ]; then
  port=""
  for p in $(seq 55433 55499); do
    if ! (echo > "/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
  pg_dir=$(mktemp -d -t kassa-pg.XXXXXX)
  chmod 755 "$pg_dir"
  step "start a throwaway PostgreSQL on 127.0.0.1:$port"
  if env_lines=$(scripts/pg-up.sh "$pg_dir" "$port"); then
    eval "$env_lines"
  else
    rm -rf "$pg_dir"; pg_dir=""
    if [ "${CI:-}" = "true" ]; then echo "PostgreSQL could not be started and CI=true: failing" >&2; exit 1; fi
    echo "warning: PostgreSQL could not be started; its tests will be skipped (install postgresql-15 to run them)" >&2
  fi
fi
export KASSA_TEST_PG="${KASSA_TEST_PG:-}"

step "tests"
# The HTTP suite records every exchange here for the contract test below.
exchanges="$log.exchanges.ndjson"
rm -f "$exchanges"
set +e
# A fixture's cleanup failure is reported by the runner without its exception; the fixtures write it here.
export KASSA_TEST_CLEANUP_LOG="$log.cleanup.log"
rm -f "$KASSA_TEST_CLEANUP_LOG"
KASSA_RECORD_EXCHANGES="$exchanges" dotnet test Kassa.slnx --no-build --nologo 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
if [ -s "$KASSA_TEST_CLEANUP_LOG" ]; then
  step "test fixture cleanup failures"
  cat "$KASSA_TEST_CLEANUP_LOG"
fi
set -e

lint_status=0
contract_status=0
if command -v npm >/dev/null 2>&1; then
  step "OpenAPI lint (Redocly CLI, recommended-strict)"
  (cd api && npm install --no-audit --no-fund --loglevel=error >/dev/null && npx --no-install redocly lint openapi.json --format=stylish) || lint_status=$?
  step "OpenAPI contract (every recorded exchange of the HTTP suite against api/openapi.json)"
  # First prove the validator catches violations (hand-made exchanges), then check the real ones.
  (cd api && node --test --test-reporter=dot contract/ && node contract/validate.mjs "$exchanges" openapi.json) || contract_status=$?
elif [ "${CI:-}" = "true" ]; then
  echo "npm is missing and CI=true: the OpenAPI lint and contract test must run" >&2; lint_status=1; contract_status=1
fi
rm -f "$exchanges"

# dotnet test prints one "Passed!/Failed!" line per assembly; CI reads one plain total line.
awk '/(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+/ {
       gsub(/,/, ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log" | tee "$log.summary"
skipped=$(awk '{print $5}' "$log.summary")
if [ "${CI:-}" = "true" ] && [ "${skipped:-0}" != "0" ]; then
  echo "CI=true and $skipped tests were skipped: a skipped PostgreSQL run is a failure" >&2
  exit 1
fi
[ "$test_status" = "0" ] || exit "$test_status"
[ "$lint_status" = "0" ] || { echo "OpenAPI lint failed" >&2; exit "$lint_status"; }
[ "$contract_status" = "0" ] || { echo "OpenAPI contract test failed: the document and the server disagree (see VIOLATION lines above)" >&2; exit "$contract_status"; }
