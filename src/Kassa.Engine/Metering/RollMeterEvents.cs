using System.Diagnostics;
using System.Text.Json;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Metering;

/// <summary>
/// The roller (ADR 0006): folds committed raw events into the hourly rollups behind a durable
/// watermark, one bounded chunk per transaction. The transaction locks the watermark row, reads the
/// events between the watermark and the first position that is not final yet, upserts their cells and
/// distinct values and moves the watermark — all or nothing. Several processes may run it at once: the
/// row lock makes them take turns, and each turn starts from the watermark the previous one committed,
/// so every event is folded exactly once. Usage queries stay exact at any moment (rollups below the
/// watermark plus raw events above it, see <see cref="GetMeterUsage"/>).
/// </summary>
public static class RollMeterEvents
{
    /// <summary>
    /// Events one roll takes at most (one ingest transaction larger than this is taken whole). A roll's cost goes
    /// by the cells and index pages it writes more than by its events: with 10,000 customers a 20,000-event chunk
    /// wrote about a cell per event and one event-index page per customer, and the roller fell behind at half the
    /// ingest maximum on both engines. Larger chunks fold more of a customer's events into each page, so a roll
    /// behind a backlog gets cheaper per event as the backlog grows, and a roller that keeps up settles at the
    /// chunk that arrives while it rolls. PostgreSQL: 100,000 held the lag at 2.3 s (18,200/s; bench/README.md).
    /// SQLite (2026-12-05): with 20,000 a roll of the rollups file took ~700 ms, ~270 ms of it the commit writing
    /// and checkpointing ~one page per customer, so it folded ≤ 28,000 events/s beside ingest and its lag grew at
    /// 32,000/s; with 100,000 it settled at ~32,000-event rolls of ~1 s and kept up.
    /// </summary>
    public const int ChunkEventsMax = 100_000;

    public sealed record Outcome(long Events, long Cells, long Watermark, bool Full);

    /// <summary>
    /// What one roll will write: the cells and distinct values of the events between <see cref="Watermark"/>
    /// and <see cref="Upper"/>, computed from a read. Applying it is right only while the watermark is still
    /// <see cref="Watermark"/>: the events are then exactly those not folded yet (a rebuild in between
    /// rebuilds only below the watermark, which this plan does not touch).
    /// </summary>
    public sealed record Plan(long Watermark, long Upper, int Events, DateTimeOffset? RolledThrough, IReadOnlyList<TenantCells> Tenants, bool Full)
    {
        /// <summary>Nothing to fold and the watermark already at the end: applying would change nothing.</summary>
        public bool IsEmpty => Events == 0 && Upper == Watermark;
    }

    public sealed record TenantCells(Tenant Tenant, IReadOnlyList<RollupRow> Rows, IReadOnlyList<UniqueValueRow> Distinct);

    /// <summary>One roll in one transaction: the watermark row locked, then the chunk read, folded and written.</summary>
    public static async Task<Outcome> Execute(IStoreSession s, DateTimeOffset now, int chunkEventsMax = ChunkEventsMax)
    {
        var watermark = await s.Metering.LockRollerAsync();
        return await WriteAsync(s, await PlanFromAsync(s, watermark, chunkEventsMax), now);
    }

    /// <summary>
    /// The read half of a roll, for a read session (SQLite): the chunk is read by short statements and folded
    /// outside any write transaction (~17 µs an event), and an idle round writes nothing. When SQLite kept the
    /// rollups in the main file this also kept ingest from waiting behind the fold; they have their own file
    /// and lock now (ADR 0006). <see cref="ApplyAsync"/> writes the plan.
    /// </summary>
    public static async Task<Plan> PlanAsync(IStoreSession s, int chunkEventsMax = ChunkEventsMax) =>
        await PlanFromAsync(s, await s.Metering.ReadWatermarkAsync(), chunkEventsMax);

    /// <summary>
    /// The write half, in a write transaction: locks the watermark row and writes the plan when the
    /// watermark is still the plan's; null, with nothing written, when another roll moved it meanwhile.
    /// </summary>
    public static async Task<Outcome?> ApplyAsync(IStoreSession s, Plan plan, DateTimeOffset now) =>
        await s.Metering.LockRollerAsync() == plan.Watermark ? await WriteAsync(s, plan, now) : null;

    /// <summary>
    /// One roll as the roller's loop runs it; true when another should follow at once (the chunk was full, or
    /// another roll moved the watermark first). On SQLite the chunk is read and folded in a read session and only
    /// the cells are written in the rollups file's transaction (<see cref="PlanAsync"/>): an idle round then
    /// writes nothing (a transaction would rewrite the watermark row's page to lock it), and the main file is
    /// read by short statements rather than one snapshot held through the fold, the write and the fsync wait,
    /// which would keep the main file's checkpointer from rewinding its WAL. PostgreSQL's writes run side by
    /// side, so one transaction does it all, the watermark row locked first.
    /// </summary>
    public static async Task<bool> RollOnceAsync(IKassaStore store, TimeProvider time, CancellationToken ct = default)
    {
        if (store.Engine != "sqlite")
            return (await TimeCommitAsync(store, s => Execute(s, time.GetUtcNow()), ct)).Full;
        var plan = await store.ReadAsync(s => PlanAsync(s), ct);
        if (plan.IsEmpty) return false;
        var rolled = await TimeCommitAsync(store, s => ApplyAsync(s, plan, time.GetUtcNow()), ct);
        return rolled is null || rolled.Full;
    }

    /// <summary>
    /// The roll in its own write transaction, its commit phase timed: from the roll's last write to the store's commit
    /// returning (on SQLite that includes the wait for the main file's fsync of the rolled events, which must come first).
    /// </summary>
    private static async Task<T> TimeCommitAsync<T>(IKassaStore store, Func<IStoreSession, Task<T>> roll, CancellationToken ct)
    {
        long written = 0;
        var result = await store.WriteRollupsAsync(async s =>
        {
            var r = await roll(s);
            written = Stopwatch.GetTimestamp();
            return r;
        }, ct);
        KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Commit, Stopwatch.GetTimestamp() - written);
        return result;
    }

    private static async Task<Plan> PlanFromAsync(IStoreSession s, long watermark, int chunkEventsMax)
    {
        var since = Stopwatch.GetTimestamp();
        // The chunk is rows in pooled arrays (EventPass), returned when the plan is made: only the cells outlive it.
        using var chunk = await s.Metering.NextRollChunkAsync(watermark, chunkEventsMax);
        var events = chunk.Events;
        var names = new HashSet<int>?[events.Tenants.Count];
        for (var i = 0; i < events.Count; i++)
        {
            ref readonly var e = ref events[i];
            (names[e.Tenant] ??= []).Add(e.EventName);
        }
        // Each tenant's meters by the event name's number in the chunk.
        var fedBy = new Dictionary<int, List<(MeterRecord Record, MeterDefinition Definition)>>[events.Tenants.Count];
        for (var t = 0; t < events.Tenants.Count; t++)
        {
            // A tenant whose only events were cut from the chunk's end (the store read one past the bound) has no rows.
            if (names[t] is not { } tenantNames) continue;
            var byName = tenantNames.ToDictionary(events.Text, id => id, StringComparer.Ordinal);
            // As ingestion reads them: a name with more meters than the bound had its events refused, so
            // none of its meters is fed (an event here under such a name predates the meters past the bound).
            var loaded = await s.Metering.MetersForEventNamesAsync(events.Tenants[t], [.. byName.Keys], CreateMeter.MetersPerEventNameMax + 1);
            fedBy[t] = loaded.GroupBy(m => m.EventName, StringComparer.Ordinal).Where(g => g.Count() <= CreateMeter.MetersPerEventNameMax)
                .ToDictionary(g => byName[g.Key], g => g.Select(m => (Record: m, Definition: m.ToDefinition())).ToList());
        }
        var rollups = new RollupBatch?[events.Tenants.Count];
        long? rolledThrough = null;
        for (var i = 0; i < events.Count; i++)
        {
            ref readonly var e = ref events[i];
            if (rolledThrough is null || e.ReceivedMicros > rolledThrough) rolledThrough = e.ReceivedMicros;
            var batch = rollups[e.Tenant] ??= new RollupBatch();
            if (!fedBy[e.Tenant].TryGetValue(e.EventName, out var fed)) continue;
            using var doc = JsonDocument.Parse(events.OwnTextMemory(e));
            var eventName = events.Text(e.EventName);
            foreach (var (record, definition) in fed)
            {
                // An event a meter cannot read was refused by ingestion while the meter existed; one
                // stored before the meter was created is skipped, as the rebuild skips it.
                if (MeterContribution.TryFrom(definition, eventName, doc.RootElement, out var contribution, out _) && contribution is { } c)
                    batch.Add(record.Id, events.Text(e.Customer), Micros.To(e.TsMicros), c);
            }
        }
        // In the order the tenants' first events came, as before the chunk was rows.
        var tenants = new List<TenantCells>(events.Tenants.Count);
        for (var t = 0; t < events.Tenants.Count; t++)
        {
            if (rollups[t] is { } batch) tenants.Add(new TenantCells(events.Tenants[t], batch.Rows(), batch.DistinctRows()));
        }
        KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Plan, Stopwatch.GetTimestamp() - since);
        return new Plan(watermark, chunk.Upper, events.Count, Micros.To(rolledThrough), tenants, events.Count >= chunkEventsMax);
    }

    private static async Task<Outcome> WriteAsync(IStoreSession s, Plan plan, DateTimeOffset now)
    {
        // Each phase's time is recorded (kassa_meter_roll_phase_duration_seconds): the roll's cost per phase is what
        // decides whether the roller keeps up beside ingest (ADR 0006, "2026-12-05").
        long cells = 0, distinct = 0;
        foreach (var t in plan.Tenants)
        {
            var since = Stopwatch.GetTimestamp();
            // Rows come in key order, so two writers of shared cells (a roll and a rebuild) lock them in one order.
            await s.Metering.UpsertRollupsAsync(t.Tenant, t.Rows);
            var between = Stopwatch.GetTimestamp();
            await s.Metering.InsertUniqueValuesAsync(t.Tenant, t.Distinct);
            (cells, distinct) = (cells + between - since, distinct + Stopwatch.GetTimestamp() - between);
        }
        var indexing = Stopwatch.GetTimestamp();
        KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Cells, cells);
        KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Distinct, distinct);
        // Behind the watermark from this commit on, so in the event index from this commit on (the list and usage reads rely on it).
        // SQLite writes none here: its indexer does, beside the rolls (IndexMeterEvents), and records the phase.
        if (plan.Events > 0 && await s.Metering.IndexRolledEventsAsync(plan.Watermark, plan.Upper))
            KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Index, Stopwatch.GetTimestamp() - indexing);
        if (!plan.IsEmpty) await s.Metering.AdvanceRollerAsync(plan.Upper, plan.RolledThrough, plan.Events, now);
        return new Outcome(plan.Events, plan.Tenants.Sum(t => (long)t.Rows.Count), plan.Upper, plan.Full);
    }
}
