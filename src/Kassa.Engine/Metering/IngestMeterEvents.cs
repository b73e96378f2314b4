using System.Diagnostics;
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
/// already stored, and tracks them against linked features' balances — all or nothing, and
/// acknowledged only after the commit. A retried batch therefore counts each event once, however the
/// first attempt ended. The hourly rollups are not written here: the roller folds committed events
/// into them (<see cref="RollMeterEvents"/>, ADR 0006), so ingest writes the events' key and nothing more.
/// </summary>
public static class IngestMeterEvents
{
    public sealed record Rejected(int Index, string Code, string Message);

    public sealed record Response(long Accepted, long Duplicates, IReadOnlyList<Rejected> Rejected)
    {
        [JsonPropertyOrder(-1)] public string Object => "meter_event_batch";
    }

    /// <summary>A validated batch: events to insert (ids distinct), with their place in the request.</summary>
    public sealed record Prepared(IReadOnlyList<(int Index, NormalizedEvent Event)> Events, IReadOnlyList<Rejected> Rejected, int RepeatedInBatch);

    /// <summary>Validates every event on its own; a repeated id within the batch is a duplicate of its first occurrence.</summary>
    public static Prepared Prepare(IReadOnlyList<JsonElement> events, DateTimeOffset now) => Prepare(events, _ => now);

    /// <summary>
    /// As <see cref="Prepare(IReadOnlyList{JsonElement}, DateTimeOffset)"/>, each event checked against its
    /// own time (<paramref name="nowOf"/> by index): a test clock's customers live in the clock's time, so
    /// their events' accepted range and default timestamp follow the clock (spec §11).
    /// </summary>
    public static Prepared Prepare(IReadOnlyList<JsonElement> events, Func<int, DateTimeOffset> nowOf)
    {
        var accepted = new List<(int, NormalizedEvent)>(events.Count);
        var rejected = new List<Rejected>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var repeated = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (!MeterEventInput.TryNormalize(events[i], nowOf(i), out var ev, out var error))
            {
                rejected.Add(new Rejected(i, error.Code, error.Message));
                continue;
            }
            if (!ids.Add(ev.Id)) repeated++;
            else accepted.Add((i, ev));
        }
        return new Prepared(accepted, rejected, repeated);
    }

    /// <summary>The customer an event names (<c>customer_id</c> or CloudEvents' <c>subject</c>), or null; validation comes later.</summary>
    public static string? CustomerIdOf(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        foreach (var name in (string[])["customer_id", "subject"])
            if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String) return v.GetString();
        return null;
    }

    private sealed record Match(MeterRecord Meter, MeterContribution Contribution);

    public static async Task<Response> Execute(IStoreSession s, OperationContext op, Prepared batch) =>
        (await ExecuteMany(s, [(op, batch)]))[0];

    /// <summary>
    /// Several requests' batches in one transaction (group commit), answered each on its own as if they
    /// had run one after the other in list order: an id that two of them carry is stored for the first
    /// and a duplicate for the second. Batches of one tenant share one meter lookup and one statement per
    /// table; a batch's refused events never touch another's.
    /// </summary>
    /// <param name="beforeWrite">Runs once, before the first write of the transaction (a fault point for tests).</param>
    public static async Task<IReadOnlyList<Response>> ExecuteMany(IStoreSession s, IReadOnlyList<(OperationContext Op, Prepared Batch)> items, Action? beforeWrite = null)
    {
        var responses = new Response[items.Count];
        var phases = new BatchPhases(GroupCommitLoop.Ingest);
        foreach (var tenantItems in Enumerable.Range(0, items.Count).GroupBy(i => items[i].Op.Tenant))
        {
            await ExecuteTenant(s, tenantItems.Key, tenantItems.Select(i => (i, items[i].Op, items[i].Batch)).ToList(), responses, phases, beforeWrite);
            beforeWrite = null;
        }
        phases.Record();
        return responses;
    }

    private static async Task ExecuteTenant(IStoreSession s, Tenant tenant, List<(int Slot, OperationContext Op, Prepared Batch)> items, Response[] responses,
        BatchPhases phases, Action? beforeWrite)
    {
        var since = Stopwatch.GetTimestamp();
        var names = items.SelectMany(it => it.Batch.Events).Select(e => e.Event.EventName).Distinct(StringComparer.Ordinal).ToList();
        // Every meter of every name in the transaction, read up to one past the per-name bound: at most
        // names × (bound + 1) rows, and complete for every name within the bound. CreateMeter refuses a
        // meter past the bound; a name past it anyway (meters stored before the bound existed) is seen
        // here, and its events are refused with limit_reached instead of feeding only some of its meters.
        var loaded = names.Count == 0 ? [] : await s.Metering.MetersForEventNamesAsync(tenant, names, CreateMeter.MetersPerEventNameMax + 1);
        var overBound = loaded.GroupBy(m => m.EventName, StringComparer.Ordinal).Where(g => g.Count() > CreateMeter.MetersPerEventNameMax)
            .Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var meters = loaded.Where(m => !overBound.Contains(m.EventName)).Select(m => (Record: m, Definition: m.ToDefinition())).ToList();
        since = phases.AddLoad(since);

        // Which meters each event feeds, with its value there. An event a meter cannot read is refused
        // whole: storing it would leave that meter silently short. An id an earlier batch of this
        // transaction carries is that batch's: this one counts it as a duplicate.
        var toInsert = new List<NormalizedEvent>();
        var owner = new Dictionary<string, int>(StringComparer.Ordinal);
        var matches = new Dictionary<string, List<Match>>(StringComparer.Ordinal);
        var rejected = new List<Rejected>[items.Count];
        for (var k = 0; k < items.Count; k++)
        {
            rejected[k] = [.. items[k].Batch.Rejected];
            foreach (var (index, e) in items[k].Batch.Events)
            {
                if (overBound.Contains(e.EventName))
                {
                    rejected[k].Add(new Rejected(index, MeterEventCodes.LimitReached,
                        $"event_name '{e.EventName}' has more than {CreateMeter.MetersPerEventNameMax} meters, the most one event name may have; its events are refused rather than fed to only some of them"));
                    continue;
                }
                List<Match>? found = null;
                string? problem = null;
                foreach (var (record, definition) in meters)
                {
                    if (!MeterContribution.TryFrom(definition, e.EventName, e.Properties, out var contribution, out var error))
                    {
                        problem = $"meter '{record.Id}': {error}";
                        break;
                    }
                    // Only linked meters need the value here (to move a balance); the roller recomputes the rest.
                    if (contribution is { } c && record.FeatureId is not null) (found ??= []).Add(new Match(record, c));
                }
                if (problem is not null)
                {
                    rejected[k].Add(new Rejected(index, MeterEventCodes.ValidationFailed, problem));
                    continue;
                }
                if (!owner.TryAdd(e.Id, k)) continue;
                toInsert.Add(e);
                if (found is not null) matches[e.Id] = found;
            }
        }

        since = phases.AddDecide(since);
        beforeWrite?.Invoke();
        // received_at: the transaction's requests arrived within the same few milliseconds; the first one's clock names them all.
        var inserted = await s.Metering.InsertEventsAsync(tenant, toInsert, items[0].Op.Now);

        var tracks = new List<TrackOp>();
        var accepted = new long[items.Count];
        foreach (var e in toInsert)
        {
            if (!inserted.Contains(e.Id)) continue;
            var k = owner[e.Id];
            accepted[k]++;
            if (!matches.TryGetValue(e.Id, out var fed)) continue;
            var op = items[k].Op;
            foreach (var m in fed)
            {
                // The key names the meter too: one event may feed two meters linked to two features.
                if (m.Meter.FeatureId is { } feature)
                    tracks.Add(new TrackOp(tenant, op.RequestId, op.Now, e.CustomerId, feature, "", m.Contribution.Value, $"mev:{m.Meter.Id}:{e.Id}", e.Timestamp));
            }
        }
        // Same transaction as the events: a linked balance moves exactly when its event is stored.
        // Tracks for unknown customers or features decide to an error and change nothing.
        if (tracks.Count > 0) await ApplyBalanceBatch.Execute(s, tracks);
        // A balance total past the quantity bound refuses the events: the transaction rolls back whole and the request answers 400 quantity_overflow, so no event is
        // stored without moving its balance.
        if (tracks.FirstOrDefault(t => t.Decision is { IsOk: false } d && d.Error!.Code == Kassa.Core.Errors.ErrorCodes.QuantityOverflow) is { } overflowed)
            throw new QuantityOverflowException(overflowed.Decision!.Value.Error!.Message);

        phases.AddPersist(since);

        for (var k = 0; k < items.Count; k++)
        {
            rejected[k].Sort((a, b) => a.Index.CompareTo(b.Index));
            var stored = items[k].Batch.Events.Count - (rejected[k].Count - items[k].Batch.Rejected.Count);
            // Offered for insert minus inserted: ids already stored, or carried by an earlier batch of this transaction.
            responses[items[k].Slot] = new Response(accepted[k], stored - accepted[k] + items[k].Batch.RepeatedInBatch, rejected[k]);
        }
    }
}
