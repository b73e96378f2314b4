using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Metering;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

/// <summary>
/// <c>POST /v1/meters</c>: how matching events aggregate. With <c>feature_id</c>, every matching
/// event is also tracked against that feature's balance. A meter is fixed once created: changing
/// how events aggregate would make stored rollups disagree with the definition. One event name has at
/// most <see cref="MetersPerEventNameMax"/> meters; one more is refused with <c>409 limit_reached</c>.
/// </summary>
public static class CreateMeter
{
    /// <summary>
    /// Meters one event name may have. Every event is offered to all meters of its name, so this also
    /// bounds the meters one ingest transaction reads (names × this); a meter past it is refused with
    /// <c>limit_reached</c> rather than stored and then left out of a bounded read.
    /// </summary>
    public const int MetersPerEventNameMax = 100;

    public const string LockName = "meters_per_event_name";

    public sealed record Request(string? Id, string? Name, string? EventName, string? Aggregation, string? ValueProperty, List<string?>? GroupBy,
        Dictionary<string, JsonElement>? Filter, string? FeatureId);

    public static async Task<Result<MeterRecord>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.Id is null) return KassaError.Missing("id");
        if (r.Name is null) return KassaError.Missing("name");
        if (r.EventName is null) return KassaError.Missing("event_name");
        if (r.Aggregation is null) return KassaError.Missing("aggregation");
        var errors = MeterRules.Validate(new MeterInput(r.Id, r.Name, r.EventName, r.Aggregation, r.ValueProperty, r.GroupBy, r.Filter, r.FeatureId), out var meter)
            .ToList();
        if (meter is { FeatureId: not null, Aggregation: Aggregation.UniqueCount })
            errors.Add(new FieldError("feature_id", "a unique_count meter has no per-event value to track; link a count or sum meter instead"));
        if (errors.Count > 0) return KassaError.Validation(errors);
        if (meter!.FeatureId is { } featureId)
        {
            var feature = await s.Catalog.GetFeatureAsync(op.Tenant, featureId);
            if (feature is null) return KassaError.NotFound("feature", featureId) with { Param = "feature_id" };
            if (feature.Type == "boolean") return KassaError.Validation("feature_id", "a boolean feature has no balance to track usage against");
        }
        // Held to the end of the transaction: two concurrent creates cannot both take the last place of a name.
        await s.Accounts.LockLimitAsync(op.Tenant, $"{LockName}:{meter.EventName}");
        if ((await s.Metering.MetersForEventNamesAsync(op.Tenant, [meter.EventName], MetersPerEventNameMax)).Count >= MetersPerEventNameMax)
            return new KassaError(ErrorCodes.LimitReached,
                $"Event name '{meter.EventName}' already has {MetersPerEventNameMax} meters, the most allowed", "event_name");
        var filter = JsonSerializer.Serialize(meter.Filter, KassaJson.Options);
        var record = new MeterRecord(op.Tenant.AccountId, op.Tenant.Livemode, meter.Id, meter.Name, meter.EventName, meter.Aggregation, meter.ValueProperty,
            meter.GroupBy, filter, meter.FeatureId, op.Now, op.Now);
        if (!await s.Metering.InsertMeterAsync(record)) return new KassaError(ErrorCodes.AlreadyExists, $"A meter with id '{meter.Id}' already exists", "id");
        await RecordAudit.Execute(s, op, "meter.created", "meter", meter.Id, ["name", "event_name", "aggregation", "value_property", "group_by", "filter", "feature_id"]);
        return record;
    }
}
