using Kassa.Core.Metering;
using Kassa.Engine.Storage;
using System.Text.Json;

namespace Kassa.Engine.Metering;

/// <summary>
/// <c>kassa meters rebuild --meter ID</c>: recomputes a meter's rollups from its raw events, in one
/// transaction that keeps event inserts out meanwhile (so no event is counted twice or missed). Reads
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
        await s.Metering.LockEventsAsync();
        await s.Metering.DeleteRollupsAsync(tenant, meter.Id);
        var cells = new Dictionary<(string Customer, DateTimeOffset Hour, string Group), RollupCell>();
        var distinct = new HashSet<(string Customer, DateTimeOffset Hour, string Group, string Value)>();
        (DateTimeOffset, string)? after = null;
        long seen = 0;
        while (true)
        {
            var page = await s.Metering.EventsInOrderAsync(tenant, meter.EventName, after, PageSize);
            foreach (var e in page)
            {
                using var doc = JsonDocument.Parse(e.PropertiesJson);
                var properties = doc.RootElement;
                // Events stored before the meter existed, or that never matched its filter, are skipped
                // like ingestion skips them; ones it cannot read were refused at ingestion when it existed.
                if (!MeterMatch.Matches(definition, e.EventName, properties)) continue;
                if (!MeterValue.TryReadEventValue(definition, properties, out var value, out _)) continue;
                var group = MeterMatch.GroupKey(definition, properties);
                var hour = UsageWindows.HourFloor(e.Timestamp);
                if (!cells.TryGetValue((e.CustomerId, hour, group), out var cell)) cells[(e.CustomerId, hour, group)] = cell = new RollupCell();
                cell.Add(value, e.Timestamp);
                if (definition.Aggregation == Aggregation.UniqueCount && MeterValue.TryReadDistinct(properties, definition.ValueProperty!, out var v, out _))
                    distinct.Add((e.CustomerId, hour, group, v));
            }
            seen += page.Count;
            progress?.Invoke(seen);
            if (page.Count < PageSize) break;
            after = (page[^1].Timestamp, page[^1].Id);
        }
        foreach (var chunk in cells.OrderBy(c => c.Key.Customer, StringComparer.Ordinal).ThenBy(c => c.Key.Hour).ThenBy(c => c.Key.Group, StringComparer.Ordinal)
                     .Select(c => new RollupRow(meter.Id, c.Key.Customer, c.Key.Hour, c.Key.Group, c.Value)).Chunk(PageSize))
            await s.Metering.UpsertRollupsAsync(tenant, chunk);
        foreach (var chunk in distinct.Select(d => new UniqueValueRow(meter.Id, d.Customer, d.Hour, d.Group, d.Value)).Chunk(PageSize))
            await s.Metering.InsertUniqueValuesAsync(tenant, chunk);
        return new Outcome(seen, cells.Count);
    }
}
