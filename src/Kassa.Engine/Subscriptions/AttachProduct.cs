using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Periods;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Grants a customer what a product version's features promise: a balance per metered feature
/// (allowance × quantity per reset period, anchored now), an unlimited or boolean entitlement
/// otherwise. Shared by <c>POST /v1/subscribe</c> (free products) and by attaching
/// <c>auto_enable</c> products to new customers. Runs inside the caller's transaction; locks the
/// customer's balance rows so it serialises with the balance engine.
/// </summary>
public static class AttachProduct
{
    public static async Task<Result<string>> Execute(IStoreSession s, OperationContext op, string customerId, ProductRecord product, ProductVersionRecord version, long quantity)
    {
        var subscriptionId = op.NewId(IdPrefixes.Subscription);
        await s.Subscriptions.InsertAsync(new SubscriptionSummary(subscriptionId, product.Id, version.Version, "active", null), op.Tenant, customerId, quantity, op.Now);
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customerId], [], forUpdate: true, op.Now);
        var features = (await s.Catalog.GetFeaturesAsync(op.Tenant, version.Features.Select(f => f.FeatureId!).ToList())).ToDictionary(f => f.Id);
        var headers = new List<BalanceHeader>();
        var buckets = new List<StoredBucket>();
        foreach (var pf in version.Features)
        {
            if (!features.TryGetValue(pf.FeatureId!, out var feature)) continue;
            var existing = book.Get(customerId, feature.Id, "", op.Now);
            if (feature.Type == "boolean")
            {
                if (existing is null) headers.Add(NewHeader(op, customerId, feature.Id, "boolean", "never", subscriptionId));
                continue;
            }
            var unlimited = pf.Included is { Unlimited: true };
            var allowance = unlimited ? 0 : Micro.TryFromDecimal((pf.Included?.Amount ?? 0) * quantity, out var m) ? m : 0;
            var reset = pf.Reset ?? "month";
            var header = existing?.Header ?? NewHeader(op, customerId, feature.Id, pf.Overage ?? "blocked", reset, subscriptionId);
            if (existing is not null)
            {
                // A second product granting the same feature (an add-on) adds its allowance; the first product's period and policy stay.
                header.Allowance += allowance;
                header.Unlimited |= unlimited;
                header.UpdatedAt = op.Now;
            }
            else
            {
                header.Unlimited = unlimited;
                header.Allowance = allowance;
                header.Rollover = pf.Rollover is not null;
                header.RolloverMax = pf.Rollover?.Max is { } max && Micro.TryFromDecimal(max * quantity, out var mm) ? mm : null;
                headers.Add(header);
            }
            if (allowance > 0)
            {
                var (start, end) = Periods.TryParse(header.Reset, out var interval)
                    ? Periods.Containing(header.Anchor, interval, 1, op.Now)
                    : (op.Now, (DateTimeOffset?)null);
                buckets.Add(BalanceBook.NewBucket(header, BucketKind.Allowance, allowance, start, end, op.Now));
            }
            if (existing is not null) headers.Add(header);
        }
        if (headers.Count > 0) await s.Balances.SaveHeadersAsync(headers);
        if (buckets.Count > 0) await s.Balances.SaveBucketsAsync(buckets);
        return subscriptionId;
    }

    private static BalanceHeader NewHeader(OperationContext op, string customerId, string featureId, string policy, string reset, string subscriptionId)
    {
        var next = Periods.TryParse(reset, out var interval) ? Periods.Boundary(op.Now, interval, 1, 1) : (DateTimeOffset?)null;
        return new BalanceHeader
        {
            AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = customerId, FeatureId = featureId, EntityId = "",
            OveragePolicy = policy, Reset = reset, Anchor = op.Now, PeriodStart = op.Now, NextResetAt = next, SubscriptionId = subscriptionId,
            UpdatedAt = op.Now, IsNew = true,
        };
    }

    /// <summary>A product is free when every price it has is zero and it has no usage prices.</summary>
    public static bool IsFree(ProductVersionRecord version) => version.Prices.All(p => p.Type != "usage" && (p.Amount ?? 0) == 0);
}
