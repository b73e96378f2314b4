#!/usr/bin/env bash
# Platform benchmark: builds the server and kassa-bench in Release, then for each storage engine starts a
# fresh server on a fresh database, runs the `customers` scenario (healthz baseline measured in the same
# run) and stops the server. Prints the [bench] lines; writes bench/results/platform-<engine>.json.
#
# Usage: bench/platform.sh [ENGINE...]        engines: sqlite postgres (default: both, in that order)
# Environment:
#   DURATION (10s), WARMUP (2s), WORKERS (64), CUSTOMERS (10000)  passed to kassa-bench run
#   KASSA_TEST_PG     a PostgreSQL server connection string without a database
#                     (Host=…;Port=…;Username=…;Password=…); unset: a throwaway cluster is started
#   KASSA_SERVER_BIN  a prebuilt server binary to run instead of building src/Kassa.Server
#   SCENARIO          the kassa-bench scenario (customers; credit_grants adds POST /v1/credit_grants)
#   KASSA_MUTATION_BATCHING  passed to the server: 0 measures one transaction per mutation (the
#                     baseline of ADR 0010); unset, the server's default (batched)
#   KASSA_MUTATION_WRITERS  passed to the server: mutation writer loops on PostgreSQL
set -euo pipefail

cd "$(dirname "$0")/.."

bench_script=platform.sh
bench_scenario=${SCENARIO:-customers}
bench_result=platform${SCENARIO:+-$SCENARIO}
# The server runs with its defaults (rate limit included): this is the platform as deployed.
bench_server_env=()
if [ -n "${KASSA_MUTATION_WRITERS:-}" ]; then bench_server_env+=("KASSA_MUTATION_WRITERS=$KASSA_MUTATION_WRITERS"); fi
if [ -n "${KASSA_MUTATION_BATCHING:-}" ]; then bench_server_env+=("KASSA_MUTATION_BATCHING=$KASSA_MUTATION_BATCHING"); fi
# shellcheck source=bench/lib.sh
. bench/lib.sh

bench_main "$@"
