#!/usr/bin/env bash
# Paid subscribe benchmark (issue 12 item 9): builds the server and kassa-bench in Release, then for each
# storage engine starts a fresh server on a fresh database, runs the `subscribe` scenario (setup: a paid
# product at 2000/month and a pool of customers with a saved 4242 sandbox card, one per request the run can
# send; target subscribe_paid: POST /v1/subscribe, each request a fresh customer, 200 with status
# "active"; healthz baseline measured in the same run) and stops the server. Prints the [bench] lines;
# writes bench/results/subscribe-<engine>.json.
#
# Usage: bench/subscribe.sh [ENGINE...]    engines: sqlite postgres (default: both, in that order)
# Environment:
#   DURATION (10s), WARMUP (2s), WORKERS (64)  passed to kassa-bench run
#   SUBSCRIBE_RATE    the subscribes per second the customer pool is sized for (kassa-bench's default, 500,
#                     when unset): the setup creates SUBSCRIBE_RATE x (WARMUP + DURATION) + 2 x WORKERS
#                     customers (at most 200,000), each with a card; a run that uses them all up stops with
#                     exit code 3. CUSTOMERS is not used by this scenario.
#   KASSA_TEST_PG     a PostgreSQL server connection string without a database
#                     (Host=…;Port=…;Username=…;Password=…); unset: a throwaway cluster is started
#   KASSA_SERVER_BIN  a prebuilt server binary to run instead of building src/Kassa.Server
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=subscribe.sh
bench_scenario=subscribe
bench_result=subscribe
# The per-key rate limit is off: all workers share one key, and the figures are to show what subscribe
# costs, not where the limiter cuts in (a 429 would count as an error). No bench routes: subscribe has no
# one-transaction twin to compare with.
bench_server_env=(KASSA_RATE_LIMIT=0)
bench_args=()
if [ -n "${SUBSCRIBE_RATE:-}" ]; then
  bench_args=(--subscribe-rate "$SUBSCRIBE_RATE")
fi
# shellcheck source=bench/lib.sh
. bench/lib.sh

bench_main "$@"
