#!/usr/bin/env bash
# Metering benchmark: builds the server and kassa-bench in Release, then for each storage engine starts a
# fresh server on a fresh database, runs the `metering` scenario and stops the server. The scenario creates
# three meters and a small store (100 customers x 1,000 events), then measures, with /healthz as the
# baseline of the same run:
#   usage_small       GET /v1/meters/bench_tokens/usage, one customer's 30 days by day and model
#   ingest            POST /v1/meter_events/batch, 1,000 events a batch, 200 of them repeated ids
#   ingest_baseline   the same on /v1/bench_baseline/meter_events/batch (one transaction per event)
#   usage_large       after loading EVENTS events: the same query on the same customers
#   usage_large_bulk  the same query on customers of the loaded events
# Prints the [bench] lines (an `events` line per ingest target, a `vs=` line per comparison) and a `goal`
# line per figure the issue sets a target for; writes bench/results/<SCENARIO>-<engine>.json.
#
# Usage: bench/metering.sh [ENGINE...]    engines: sqlite postgres (default: both, in that order)
# Environment:
#   SCENARIO   metering (default) or metering_query (the usage targets alone, without the ingest phases)
#   EVENTS     events loaded before the large-store targets (10000000); 0 skips the load and those
#              targets. The load goes through the normal batch route at whatever rate the engine manages
#              (progress on stderr every 10 s), so 10,000,000 takes minutes per engine; EVENTS=1000000
#              or less for a quick run.
#   DURATION (20s), WARMUP (2s), WORKERS (8), CUSTOMERS (10000)  passed to kassa-bench run; CUSTOMERS is
#              how many customer ids the ingested and loaded events spread over
#   INGEST_SPREAD (2419200)  seconds back the ingest phases' timestamps spread over: 28 days puts nearly
#              every event in a rollup cell of its own (the worst case); 300 is live traffic, stamped "now"
#   SETTLE (0s)  idle time after the large load, before its targets: the database's background work
#              (autovacuum) catches up, as between the writes of a month and a later read of it
#   QUERY_WORKERS (2)  clients of the usage targets: one per core measures a query's latency; with more,
#              the p99 mostly measures waiting for a core (8 on this 2-core machine: p99 ~3x the 2-client one)
#   KASSA_TEST_PG     a PostgreSQL server connection string without a database
#                     (Host=…;Port=…;Username=…;Password=…); unset: a throwaway cluster is started
#   KASSA_SERVER_BIN  a prebuilt server binary to run instead of building src/Kassa.Server
# Quick run: DURATION=5s EVENTS=200000 bench/metering.sh sqlite
set -euo pipefail

cd "$(dirname "$0")/.."

SCENARIO=${SCENARIO:-metering}
EVENTS=${EVENTS:-10000000}
# Eight workers (ingest and the healthz baseline), not the 64 of the other scripts: each ingest request carries 1,000 events (about 200 KB),
# so eight in flight already keep both engines' writers busy, and more would only queue batches and
# lengthen their latency. The usage targets use the same eight.
WORKERS=${WORKERS:-8}
DURATION=${DURATION:-20s}
case $SCENARIO in
  metering | metering_query) ;;
  *) echo "metering.sh: unknown SCENARIO '$SCENARIO' (metering, metering_query)" >&2; exit 2 ;;
esac
case $EVENTS in
  '' | *[!0-9]*) echo "metering.sh: EVENTS must be a whole number, got '$EVENTS'" >&2; exit 2 ;;
esac

bench_script=metering.sh
bench_scenario=$SCENARIO
bench_result=$SCENARIO
QUERY_WORKERS=${QUERY_WORKERS:-2}
INGEST_SPREAD=${INGEST_SPREAD:-2419200}
SETTLE=${SETTLE:-0s}
bench_args=(--events "$EVENTS" --query-workers "$QUERY_WORKERS" --ingest-spread "$INGEST_SPREAD" --settle "$SETTLE")
# KASSA_BENCH_ROUTES=1 maps /v1/bench_baseline/meter_events/batch, the twin ingest is compared with. The
# per-key rate limit is off: all workers share one key, and the figures are to show what ingest and the
# rollups can do, not where the limiter cuts in (a 429 would count as an error).
bench_server_env=(KASSA_BENCH_ROUTES=1 KASSA_RATE_LIMIT=0)

# The issue's targets, judged on this run's lines: accepted events/s of `ingest` (at least 100,000 on
# SQLite, 50,000 on PostgreSQL) and the p99 of every usage target (at most 10 ms). A figure from a phase
# with errors is not met, whatever its value.
bench_goals() {
  local engine=$1 out=$2 ingest_min
  case $engine in
    sqlite) ingest_min=100000 ;;
    *) ingest_min=50000 ;;
  esac
  awk -v engine="$engine" -v ingest_min="$ingest_min" -v p99_max=10 '
    function field(name,    i) {
      for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
      return ""
    }
    function verdict(ok, t) { return (ok && errors[t] == "0") ? "yes" : "no" }
    $1 != "[bench]" { next }
    # A target line: has workers=, no vs=.
    $2 ~ /^scenario=/ && field("workers") != "" && field("vs") == "" {
      t = field("target"); errors[t] = field("errors"); p99[t] = field("p99_ms")
      if (t ~ /^usage_/) usage[++n] = t
    }
    $2 == "events" && field("target") == "ingest" { accepted = field("accepted_per_s") }
    END {
      if (accepted != "")
        printf "[bench] goal engine=%s target=ingest accepted_per_s=%s min=%d errors=%s met=%s\n",
          engine, accepted, ingest_min, errors["ingest"], verdict(accepted + 0 >= ingest_min, "ingest")
      for (i = 1; i <= n; i++)
        printf "[bench] goal engine=%s target=%s p99_ms=%s max=%d errors=%s met=%s\n",
          engine, usage[i], p99[usage[i]], p99_max, errors[usage[i]], verdict(p99[usage[i]] + 0 <= p99_max, usage[i])
    }
  ' "$out"
}

# shellcheck source=bench/lib.sh
. bench/lib.sh

bench_main "$@"
