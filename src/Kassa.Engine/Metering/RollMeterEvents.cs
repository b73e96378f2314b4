using System.Text.Json;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

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
    /// <summary>Events one roll takes at most (one ingest transaction larger than this is taken whole).</summary>
    public const int ChunkEventsMax = 20_000;

    public sealed record Outcome(long Events, long Cells, long Watermark, bool Full);

    public static async Task<Outcome> Execute(IStoreSession s, DateTimeOffset now, int chunkEventsMax = ChunkEventsMax)
    {
        var watermark = await s.Metering.LockRollerAsync();
        var chunk = await s.Metering.NextRollChunkAsync(watermark, chunkEventsMax);
        long cells = 0;
        DateTimeOffset? rolledThrough = null;
        foreach (var tenantEvents in chunk.Events.GroupBy(e => new Tenant(e.AccountId, e.Livemode)))
        {
            var tenant = tenantEvents.Key;
            var names = tenantEvents.Select(e => e.Event.EventName).Distinct(StringComparer.Ordinal).ToList();
            // As ingestion reads them: a name with more meters than the bound had its events refused, so
            // none of its meters is fed (an event here under such a name predates the meters past the bound).
            var loaded = await s.Metering.MetersForEventNamesAsync(tenant, names, CreateMeter.MetersPerEventNameMax + 1);
            var meters = loaded.GroupBy(m => m.EventName, StringComparer.Ordinal).Where(g => g.Count() <= CreateMeter.MetersPerEventNameMax)
                .ToDictionary(g => g.Key, g => g.Select(m => (Record: m, Definition: m.ToDefinition())).ToList(), StringComparer.Ordinal);
            var rollups = new RollupBatch();
            foreach (var (_, _, e) in tenantEvents)
            {
                if (rolledThrough is null || e.ReceivedAt > rolledThrough) rolledThrough = e.ReceivedAt;
                if (!meters.TryGetValue(e.EventName, out var fed)) continue;
                using var doc = JsonDocument.Parse(e.PropertiesJson);
                foreach (var (record, definition) in fed)
                {
                    // An event a meter cannot read was refused by ingestion while the meter existed; one
                    // stored before the meter was created is skipped, as the rebuild skips it.
                    if (MeterContribution.TryFrom(definition, e.EventName, doc.RootElement, out var contribution, out _) && contribution is { } c)
                        rollups.Add(record.Id, e.CustomerId, e.Timestamp, c);
                }
            }
            // Rows come in key order, so two writers of shared cells (a roll and a rebuild) lock them in one order.
            await s.Metering.UpsertRollupsAsync(tenant, rollups.Rows());
            await s.Metering.InsertUniqueValuesAsync(tenant, rollups.DistinctRows());
            cells += rollups.CellCount;
        }
        if (chunk.Upper != watermark || chunk.Events.Count > 0)
            await s.Metering.AdvanceRollerAsync(chunk.Upper, rolledThrough, chunk.Events.Count, now);
        return new Outcome(chunk.Events.Count, cells, chunk.Upper, chunk.Events.Count >= chunkEventsMax);
    }
}
