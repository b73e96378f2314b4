using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Core.Metering;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

/// <summary>
/// <c>POST /v1/meter_events[/batch]</c>. Validation runs before the transaction (<see cref="Prepare"/>);
/// the transaction (<see cref="Execute"/>) inserts the new events, letting the primary key drop ids
/// already stored, adds the inserted events to their meters' hourly rollups and tracks them against
/// linked features' balances — all or nothing, and acknowledged only after the commit. A retried
/// batch therefore counts each event once, however the first attempt ended.
/// </summary>
public static class IngestMeterEvents
{
    /// <summary>Meters that one batch may feed (the tenant's meters for the batch's event names).</summary>
    public const int MetersMax = 1_000;

    public sealed record Rejected(int Index, string Code, string Message);

    public sealed record Response(long Accepted, long Duplicates, IReadOnlyList<Rejected> Rejected)
    {
        [JsonPropertyOrder(-1)] public string Object => "meter_event_batch";
    }

    /// <summary>A validated batch: events to insert (ids distinct), with their place in the request.</summary>
    public sealed record Prepared(IReadOnlyList<(int Index, NormalizedEvent Event)> Events, IReadOnlyList<Rejected> Rejected, int RepeatedInBatch);

    /// <summary>Validates every event on its own; a repeated id within the batch is a duplicate of its first occurrence.</summary>
    public static Prepared Prepare(IReadOnlyList<JsonElement> events, DateTimeOffset now)
    {
        var accepted = new List<(int, NormalizedEvent)>(events.Count);
        var rejected = new List<Rejected>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var repeated = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (!MeterEventInput.TryNormalize(events[i], now, out var ev, out var error))
            {
                rejected.Add(new Rejected(i, error.Code, error.Message));
                continue;
            }
            if (!ids.Add(ev.Id)) repeated++;
            else accepted.Add((i, ev));
        }
        return new Prepared(accepted, rejected, repeated);
    }

    private sealed record Match(MeterRecord Meter, MeterContribution Contribution);

    public static async Task<Response> Execute(IStoreSession s, OperationContext op, Prepared batch)
    {
        var rejected = batch.Rejected.ToList();
        var names = batch.Events.Select(e => e.Event.EventName).Distinct(StringComparer.Ordinal).ToList();
        var meters = names.Count == 0 ? [] : (await s.Metering.MetersForEventNamesAsync(op.Tenant, names, MetersMax))
            .Select(m => (Record: m, Definition: m.ToDefinition())).ToList();

        // Which meters each event feeds, with its value there. An event a meter cannot read is refused
        // whole: storing it would leave that meter silently short.
        var toInsert = new List<NormalizedEvent>(batch.Events.Count);
        var matches = new Dictionary<string, List<Match>>(StringComparer.Ordinal);
        foreach (var (index, e) in batch.Events)
        {
            List<Match>? found = null;
            string? problem = null;
            foreach (var (record, definition) in meters)
            {
                if (!MeterContribution.TryFrom(definition, e.EventName, e.Properties, out var contribution, out var error))
                {
                    problem = $"meter '{record.Id}': {error}";
                    break;
                }
                if (contribution is { } c) (found ??= []).Add(new Match(record, c));
            }
            if (problem is not null)
            {
                rejected.Add(new Rejected(index, MeterEventCodes.ValidationFailed, problem));
                continue;
            }
            toInsert.Add(e);
            if (found is not null) matches[e.Id] = found;
        }

        var inserted = await s.Metering.InsertEventsAsync(op.Tenant, toInsert, op.Now);

        var rollups = new RollupBatch();
        var tracks = new List<TrackOp>();
        foreach (var e in toInsert)
        {
            if (!inserted.Contains(e.Id) || !matches.TryGetValue(e.Id, out var fed)) continue;
            foreach (var m in fed)
            {
                rollups.Add(m.Meter.Id, e.CustomerId, e.Timestamp, m.Contribution);
                // The key names the meter too: one event may feed two meters linked to two features.
                if (m.Meter.FeatureId is { } feature)
                    tracks.Add(new TrackOp(op.Tenant, op.RequestId, op.Now, e.CustomerId, feature, "", m.Contribution.Value, $"mev:{m.Meter.Id}:{e.Id}", e.Timestamp));
            }
        }
        await s.Metering.UpsertRollupsAsync(op.Tenant, rollups.Rows());
        await s.Metering.InsertUniqueValuesAsync(op.Tenant, rollups.DistinctRows());
        // Same transaction as the events: a linked balance moves exactly when its event is stored.
        // Tracks for unknown customers or features decide to an error and change nothing.
        if (tracks.Count > 0) await ApplyBalanceBatch.Execute(s, tracks);

        rejected.Sort((a, b) => a.Index.CompareTo(b.Index));
        return new Response(inserted.Count, toInsert.Count - inserted.Count + batch.RepeatedInBatch, rejected);
    }
}
