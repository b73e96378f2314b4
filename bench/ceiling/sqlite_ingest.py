#!/usr/bin/env python3
"""What SQLite itself can do with the metering write path on this machine: no HTTP, no JSON parsing, no
.NET. Applies the real SQLite migrations (every src/Kassa.Storage/Migrations/sqlite/*.sql, in order) to a
fresh file, then writes transactions of 8,000 events the way the server does (WAL, synchronous=FULL, one writer):
the events with ON CONFLICT DO NOTHING (a fifth of them repeat stored ids), numbered in commit order (seq, for
the roller); before issue 14 also the rollup cells of the bench's three meters (a sum grouped by model, a
count, a unique count) folded in memory beforehand and upserted in key order (variants full and minimal). Statements go through Python's sqlite3 module (C), one prepared statement per table,
so this is an upper bound for any driver. Only the database work is timed; building the rows is not.

Usage: sqlite_ingest.py MIGRATIONS_DIR VARIANT SPREAD_SECONDS SECONDS DB_PATH
  VARIANT  raw      the server's ingest transaction since the roller (ADR 0006 round two): the schema as
                    migrated (events keyed by id, indexed by seq; until 2026-12-04 also by customer and by
                    time, which the roller now keeps in the rollups file), no rollups
           events   the dedupe key alone: events keyed by id, no other index, no rollups (the floor)
           full     the ingest transaction before the roller: the schema as migrated plus the rollups
           minimal  events keyed by id (the dedupe) and the rollups; the event indexes dropped
Prints one line: [ceiling] engine=sqlite variant=… spread_s=… events=… accepted_per_s=… written_bytes_per_event=…
(bytes this process handed to write(): the WAL and its checkpoints into the database file)
"""
import json
import os
import random
import sqlite3
import sys
import time

BATCH = 8000            # the server's group commit takes up to 8,000 events a transaction
REPEAT_EVERY = 5        # every fifth event repeats a stored id, as in bench/metering.sh
CUSTOMERS = 10000
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-70b"]
MICROS = 1_000_000
HOUR = 3600 * MICROS


def written_bytes():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def main():
    migrations, variant, spread, seconds, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    if variant not in ("raw", "events", "full", "minimal"):
        sys.exit(f"sqlite_ingest.py: unknown variant '{variant}' (raw, events, full, minimal)")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-262144")
    for name in sorted(os.listdir(migrations)):
        if name.endswith(".sql"):
            with open(os.path.join(migrations, name)) as f:
                db.executescript(f.read())
    # The server keeps the rollup tables in a file of their own (<db>-rollups, ADR 0006); the variants
    # that write rollups model one transaction doing both, so here they are created in the same file.
    rollup_migrations = migrations.rstrip("/") + "-rollups"
    for name in sorted(os.listdir(rollup_migrations)):
        if name.endswith(".sql"):
            with open(os.path.join(rollup_migrations, name)) as f:
                db.executescript(f.read())
    if variant in ("events", "minimal"):
        # Gone from the migrated schema since main migration 0025 (the roller keeps those orders).
        db.execute("DROP INDEX IF EXISTS meter_events_by_customer")
        db.execute("DROP INDEX IF EXISTS meter_events_by_time")
        db.execute("DROP INDEX meter_events_by_seq")
    rollups = variant in ("full", "minimal")

    insert = """INSERT INTO meter_events (account_id, livemode, id, event_name, customer_id, ts, properties, received_at, seq)
      VALUES ('acct_bench', 0, ?, 'bench_llm', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"""
    upsert = """INSERT INTO meter_rollups (account_id, livemode, meter_id, customer_id, hour, group_key, count, sum, min, max, latest, latest_at)
      VALUES ('acct_bench', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum, min = min(min, excluded.min),
        max = max(max, excluded.max), latest = CASE WHEN excluded.latest_at > latest_at THEN excluded.latest ELSE latest END,
        latest_at = max(latest_at, excluded.latest_at)"""
    unique = "INSERT INTO meter_unique_values VALUES ('acct_bench', 0, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"

    now = int(time.time()) * MICROS
    rng = random.Random(1)
    seq = 0
    accepted = 0
    timed = 0.0
    written = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        rows, cells, values = [], {}, set()
        for i in range(BATCH):
            if i % REPEAT_EVERY == REPEAT_EVERY - 1 and seq > 0:
                # A repeat: the row is the stored one's id with new content, which the key refuses.
                rows.append((f"evt_{rng.randrange(seq):012d}", "cus_x", now, "{}", now, None))
                continue
            seq += 1
            customer = f"bench_mtr_{rng.randrange(CUSTOMERS)}"
            ts = now - rng.randrange(spread + 1) * MICROS
            model, tokens, user = rng.choice(MODELS), 1 + rng.randrange(5000), f"user_{rng.randrange(50)}"
            rows.append((f"evt_{seq:012d}", customer, ts, json.dumps({"model": model, "tokens": tokens, "user": user}), now, seq))
            hour = ts - ts % HOUR
            for key, value in (((("bench_tokens", customer, hour, json.dumps([model]))), tokens * MICROS),
                               ((("bench_requests", customer, hour, "[]")), MICROS)):
                c = cells.get(key)
                if c is None:
                    cells[key] = [1, value, value, value, value, ts]
                else:
                    c[0] += 1; c[1] += value; c[2] = min(c[2], value); c[3] = max(c[3], value)
                    if ts > c[5]:
                        c[4], c[5] = value, ts
            values.add(("bench_users", customer, hour, "[]", user))
        # Repeats the server folds away never reach the rollups: only new events were folded above.
        io_before = written_bytes()
        t = time.monotonic()
        db.execute("BEGIN IMMEDIATE")
        before = db.total_changes
        db.executemany(insert, rows)
        accepted += db.total_changes - before
        if rollups:
            db.executemany(upsert, [k + tuple(v) for k, v in sorted(cells.items())])
            db.executemany(unique, sorted(values))
        db.execute("COMMIT")
        timed += time.monotonic() - t
        written += written_bytes() - io_before
    print(f"[ceiling] engine=sqlite variant={variant} spread_s={spread} events={accepted} "
          f"db_seconds={timed:.1f} accepted_per_s={accepted / timed:.0f} written_bytes_per_event={written / max(accepted, 1):.0f}")


if __name__ == "__main__":
    main()
