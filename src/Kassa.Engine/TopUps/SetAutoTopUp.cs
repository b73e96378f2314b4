using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TopUps;

/// <summary>
/// <c>POST /v1/customers/{id}/auto_top_up</c>: when the feature's remaining falls below
/// <c>threshold</c>, buy <c>quantity</c> of the one-time product with the default payment method (at
/// most once per 10 minutes; <see cref="RunAutoTopUps"/> buys). Setting again replaces, and re-arms a
/// top-up a failed attempt disarmed; <c>enabled: false</c> turns it off.
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
        // The last attempt is kept: setting again re-arms, but never lets a purchase follow the last attempt within 10 minutes.
        var record = new AutoTopUpRecord(op.Tenant.AccountId, op.Tenant.Livemode, customer.Id, feature.Id, threshold, r.Quantity!.Value, product.Id,
            r.Enabled ?? true, existing?.CreatedAt ?? op.Now, op.Now, Armed: true, existing?.LastAttemptAt, existing?.LastFailureCode,
            existing?.LastInvoiceId, existing?.LastPaymentId);
        await s.TopUps.UpsertAsync(record);
        await RecordAudit.Execute(s, op, "auto_top_up.set", "customer", customer.Id, [$"{feature.Id}.auto_top_up"]);
        return record;
    }
}
