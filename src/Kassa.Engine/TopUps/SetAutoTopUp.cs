using System.Text.Json.Serialization;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TopUps;

public sealed record AutoTopUpRecord(
    string AccountId, bool Livemode, string CustomerId, string FeatureId, long Threshold, long Quantity, string ProductId, bool Enabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The auto top-up settings of one customer and feature.</summary>
public sealed record AutoTopUpResource(string CustomerId, string FeatureId, decimal Threshold, long Quantity, string ProductId, bool Enabled, bool Livemode,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "auto_top_up";

    public static AutoTopUpResource From(AutoTopUpRecord r) =>
        new(r.CustomerId, r.FeatureId, Micro.ToDecimal(r.Threshold), r.Quantity, r.ProductId, r.Enabled, r.Livemode, r.CreatedAt, r.UpdatedAt);
}

/// <summary>
/// <c>POST /v1/customers/{id}/auto_top_up</c>: when the feature's remaining falls below
/// <c>threshold</c>, buy <c>quantity</c> of the one-time product with the default payment method (at
/// most once per 10 minutes). The settings are stored and validated now; the purchase itself needs
/// payments and arrives with them. Setting again replaces; <c>enabled: false</c> turns it off.
/// </summary>
public static class SetAutoTopUp
{
    public const long QuantityMax = 1_000_000;

    public sealed record Request(string? FeatureId, decimal? Threshold, long? Quantity, string? ProductId, bool? Enabled);

    public static async Task<Result<AutoTopUpRecord>> Execute(IStoreSession s, OperationContext op, string customerId, Request r)
    {
        if (r.FeatureId is null) return KassaError.Missing("feature_id");
        if (r.Threshold is null) return KassaError.Missing("threshold");
        if (r.Quantity is null) return KassaError.Missing("quantity");
        if (r.ProductId is null) return KassaError.Missing("product_id");
        var errors = new List<FieldError>();
        long threshold = 0;
        if (r.Threshold < 0 || !Micro.TryFromDecimal(r.Threshold.Value, out threshold)) errors.Add(new FieldError("threshold", "must be zero or more with at most 6 fractional digits"));
        if (r.Quantity is < 1 or > QuantityMax) errors.Add(new FieldError("quantity", $"must be from 1 to {QuantityMax}"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var feature = await s.Catalog.GetFeatureAsync(op.Tenant, r.FeatureId);
        if (feature is null) return KassaError.NotFound("feature", r.FeatureId) with { Param = "feature_id" };
        if (feature.Type == "boolean") return KassaError.Validation("feature_id", "a boolean feature has no balance to top up");
        var product = await s.Catalog.GetProductAsync(op.Tenant, r.ProductId);
        if (product is null) return KassaError.NotFound("product", r.ProductId) with { Param = "product_id" };
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version))!;
        if (product.ArchivedAt is not null) return KassaError.InvalidState($"Product '{product.Id}' is archived");
        if (!version.Prices.Any(p => p.Type == "one_time"))
            return KassaError.Validation("product_id", "must be a product with a one_time price (a top-up is a one-time purchase)");
        if (!version.Features.Any(f => f.FeatureId == feature.Id))
            return KassaError.Validation("product_id", $"does not grant '{feature.Id}', so buying it would not top the balance up");

        var existing = await s.TopUps.GetAsync(op.Tenant, customer.Id, feature.Id);
        var record = new AutoTopUpRecord(op.Tenant.AccountId, op.Tenant.Livemode, customer.Id, feature.Id, threshold, r.Quantity!.Value, product.Id,
            r.Enabled ?? true, existing?.CreatedAt ?? op.Now, op.Now);
        await s.TopUps.UpsertAsync(record);
        await RecordAudit.Execute(s, op, "auto_top_up.set", "customer", customer.Id, [$"{feature.Id}.auto_top_up"]);
        return record;
    }
}
