using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.SpendCaps;

public sealed record SpendCapRecord(
    string AccountId, bool Livemode, string CustomerId, string FeatureId, long MaxOverageAmount, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A customer's spend cap on one feature: the most its billed overage may cost per period, in minor units.</summary>
public sealed record SpendCapResource(string CustomerId, string FeatureId, long MaxOverageAmount, bool Livemode, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "spend_cap";

    public static SpendCapResource From(SpendCapRecord r) => new(r.CustomerId, r.FeatureId, r.MaxOverageAmount, r.Livemode, r.CreatedAt, r.UpdatedAt);
}

/// <summary>
/// <c>PUT /v1/customers/{id}/spend_caps/{feature_id}</c>: caps what the customer's billed overage of
/// the feature may cost in the current period. Checks are then denied with <c>spend_cap_reached</c>
/// once the overage, priced with the usage price of the subscribed product, would pass the cap
/// (track still records usage that already happened). The amount is in minor units of that price's
/// currency. Setting again replaces the cap.
/// </summary>
public static class SetSpendCap
{
    /// <summary>A trillion minor units: far above any real cap, and still exact when priced as decimal.</summary>
    public const long AmountMax = 1_000_000_000_000;

    public sealed record Request(long? MaxOverageAmount);

    public static async Task<Result<SpendCapRecord>> Execute(IStoreSession s, OperationContext op, string customerId, string featureId, Request r)
    {
        if (r.MaxOverageAmount is not { } amount) return KassaError.Missing("max_overage_amount");
        if (amount is < 0 or > AmountMax) return KassaError.Validation("max_overage_amount", $"must be a whole number of minor units from 0 to {AmountMax}");
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var feature = await s.Catalog.GetFeatureAsync(op.Tenant, featureId);
        if (feature is null) return KassaError.NotFound("feature", featureId);
        if (feature.Type == "boolean") return KassaError.Validation("feature_id", "a boolean feature has no usage to cap");

        var existing = await s.SpendCaps.GetAsync(op.Tenant, customer.Id, feature.Id);
        var record = new SpendCapRecord(op.Tenant.AccountId, op.Tenant.Livemode, customer.Id, feature.Id, amount, existing?.CreatedAt ?? op.Now, op.Now);
        await s.SpendCaps.UpsertAsync(record);
        await RecordAudit.Execute(s, op, "spend_cap.set", "customer", customer.Id, [$"{feature.Id}.max_overage_amount"]);
        return record;
    }
}
