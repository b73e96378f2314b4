using Kassa.Core.Metering;
using Kassa.Engine.Storage;
using System.Text.Json;

namespace Kassa.Engine.Metering;

/// <summary>
/// <c>kassa meters rebuild --meter ID</c>: recomputes a meter's rollups from its raw events behind the
/// roller's watermark, in one transaction that holds the watermark row (so no roll runs meanwhile, and
/// every event behind it is committed and final). Events above the watermark stay the roller's: it folds
/// them into the rebuilt rollups later, so no event is counted twice or missed, and ingestion never waits
/// for a rebuild. Reads
/// events in pages of <see cref="PageSize"/>; memory grows with the cells (customers × hours × groups),
/// not with the events. Balances are not touched: linked tracks happened when the events arrived.
/// </summary>
public static class RebuildMeterRollups
{
    public const int PageSize = 5_000;

    public sealed record Outcome(long Events, long Cells);

    public static async Task<Outcome> Execute(IStoreSession s, MeterRecord meter, Action<long>? progress = null)
    {
        var tenant = new Common.Tenant(meter.AccountId, meter.Livemode);
        var definition = meter.ToDefinition();
        var watermark = await s.Metering.LockRollerAsync();
        await s.Metering.DeleteRollupsAsync(tenant, meter.Id);
        var rollups = new RollupBatch();
        (DateTimeOffset, string)? after = null;
        long seen = 0;
        while (true)
        {
            var page = await s.Metering.EventsInOrderAsync(tenant, meter.EventName, after, PageSize, rolledBelow: watermark);
            foreach (var e in page)
            {
                using var doc = JsonDocument.Parse(e.PropertiesJson);
                // Events stored before the meter existed that it cannot count (a missing value property,
                // say) are skipped; while the meter existed, ingestion refused such events.
                if (MeterContribution.TryFrom(definition, e.EventName, doc.RootElement, out var contribution, out _) && contribution is { } c)
                    rollups.Add(meter.Id, e.CustomerId, e.Timestamp, c);
            }
            seen += page.Count;
            progress?.Invoke(seen);
            if (page.Count < PageSize) break;
            after = (page[^1].Timestamp, page[^1].Id);
        }
        foreach (var chunk in rollups.Rows().Chunk(PageSize)) await s.Metering.UpsertRollupsAsync(tenant, chunk);
        foreach (var chunk in rollups.DistinctRows().Chunk(PageSize)) await s.Metering.InsertUniqueValuesAsync(tenant, chunk);
        return new Outcome(seen, rollups.CellCount);
    }
}
