#!/usr/bin/env bash
# Entitlements benchmark: builds the server and kassa-bench in Release, then for each storage engine starts
# a fresh server on a fresh database, runs the `entitlements` scenario (check and track, uniform and on one
# hot customer, each next to its one-transaction-per-request twin under /v1/bench_baseline/, healthz
# baseline measured in the same run) and stops the server. Prints the [bench] lines, including one `vs=`
# line per target against its twin; writes bench/results/entitlements-<engine>.json.
#
# Usage: bench/entitlements.sh [ENGINE...]    engines: sqlite postgres (default: both, in that order)
# Environment:
#   DURATION (10s), WARMUP (2s), WORKERS (64), CUSTOMERS (10000)  passed to kassa-bench run
#   KASSA_TEST_PG     a PostgreSQL server connection string without a database
#                     (Host=…;Port=…;Username=…;Password=…); unset: a throwaway cluster is started
#   KASSA_SERVER_BIN  a prebuilt server binary to run instead of building src/Kassa.Server
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=entitlements.sh
bench_scenario=entitlements
bench_result=entitlements
# KASSA_BENCH_ROUTES=1 maps the /v1/bench_baseline/ twins the scenario compares against. The per-key
# rate limit is off: all 64 workers share one key, and the figures are to show what the balance engine
# can do, not where the limiter cuts in (a 429 would count as an error and cap the hot targets).
bench_server_env=(KASSA_BENCH_ROUTES=1 KASSA_RATE_LIMIT=0)
# shellcheck source=bench/lib.sh
. bench/lib.sh

bench_main "$@"
