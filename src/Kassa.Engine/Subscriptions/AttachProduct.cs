using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Periods;
using Kassa.Engine.Balances;
using System.Text.Json;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Grants a customer what a product version's features promise: a balance per metered feature
/// (allowance × quantity per reset period, anchored now), an unlimited or boolean entitlement
/// otherwise. A <c>per_entity</c> feature is granted to each live entity of its entity feature
/// instead (and to entities created later, see <see cref="GrantEntity"/>). Shared by
/// <c>POST /v1/subscribe</c> (free products) and by attaching <c>auto_enable</c> products to new
/// customers. Runs inside the caller's transaction and locks the customer's balance rows, so it
/// serialises with the balance engine.
/// </summary>
public static class AttachProduct
{
    /// <summary>
    /// A per-entity feature is granted to at most this many live entities in one attach; a customer with
    /// more is refused with <c>limit_reached</c> rather than having the rest silently left out.
    /// </summary>
    public const int EntitiesMax = 10_000;

    public static async Task<Result<string>> Execute(IStoreSession s, OperationContext op, string customerId, ProductRecord product, ProductVersionRecord version, long quantity)
    {
        var sub = NewSubscription(op, customerId, product, version, quantity, SubscriptionStatus.Active, op.Now);
        await s.Subscriptions.InsertAsync(sub);
        var granted = await GrantAsync(s, op, customerId, sub.Id, version, quantity);
        return granted is { } error ? error : sub.Id;
    }

    /// <summary>A new subscription row: billing periods anchored at <paramref name="anchor"/> in the plan's interval.</summary>
    public static SubscriptionRecord NewSubscription(OperationContext op, string customerId, ProductRecord product, ProductVersionRecord version, long quantity,
        string status, DateTimeOffset anchor, DateTimeOffset? trialEnd = null, string? testClockId = null)
    {
        var plan = BillingPlan.Of(version);
        // A trial is a period of its own; the first billed period is anchored where it ends.
        var (start, end) = trialEnd is { } t ? (anchor, t) : SubscriptionBilling.FirstPeriod(plan, anchor);
        return new SubscriptionRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Subscription), customerId, product.Id, version.Version,
            status, quantity, start, end, trialEnd, false, null, false, null, op.Now, trialEnd ?? anchor, plan.Interval, plan.IntervalCount, plan.Currency,
            null, null, op.Now, null, op.Now, TestClockId: testClockId);
    }

    /// <summary>Grants the balances a subscription's product version promises (see the class summary).</summary>
    public static async Task<KassaError?> GrantAsync(IStoreSession s, OperationContext op, string customerId, string subscriptionId, ProductVersionRecord version, long quantity)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customerId], [], forUpdate: true, op.Now);
        var features = (await s.Catalog.GetFeaturesAsync(op.Tenant, version.Features.Select(f => f.FeatureId!).ToList())).ToDictionary(f => f.Id);
        var writes = new Grants();
        foreach (var pf in version.Features)
        {
            if (!features.TryGetValue(pf.FeatureId!, out var feature)) continue;
            if (pf.PerEntity is { } entityFeature)
            {
                // One past the limit tells a customer at the limit from one past it.
                var entities = await s.Entities.ListAsync(op.Tenant, customerId, entityFeature, null, EntitiesMax + 1);
                if (entities.Count > EntitiesMax)
                    return new KassaError(ErrorCodes.LimitReached,
                        $"Customer '{customerId}' has more than {EntitiesMax} '{entityFeature}' entities; a per-entity feature is granted to at most {EntitiesMax}", "product_id");
                foreach (var entity in entities)
                {
                    if (Grant(op, book, customerId, entity.Id, pf, feature, quantity: 1, subscriptionId, OveragePrice(version, pf), writes) is { } e) return e;
                }
                continue;
            }
            if (Grant(op, book, customerId, "", pf, feature, quantity, subscriptionId, OveragePrice(version, pf), writes) is { } error) return error;
        }
        await writes.SaveAsync(s);
        return null;
    }

    /// <summary>
    /// Gives a new entity the per-entity balances of every product the customer is subscribed to
    /// whose features name the entity's feature in <c>per_entity</c>.
    /// </summary>
    public static async Task<KassaError?> GrantEntity(IStoreSession s, OperationContext op, BalanceBook book, string customerId, string entityId, string entityFeatureId)
    {
        var writes = new Grants();
        foreach (var sub in await s.Catalog.LiveSubscriptionsAsync(op.Tenant, customerId, Catalog.GetPricingTable.SubscriptionsMax))
        {
            var version = await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion);
            var perEntity = version?.Features.Where(f => f.PerEntity == entityFeatureId).ToList() ?? [];
            if (perEntity.Count == 0) continue;
            var features = (await s.Catalog.GetFeaturesAsync(op.Tenant, perEntity.Select(f => f.FeatureId!).ToList())).ToDictionary(f => f.Id);
            foreach (var pf in perEntity)
            {
                if (features.TryGetValue(pf.FeatureId!, out var feature) &&
                    Grant(op, book, customerId, entityId, pf, feature, 1, sub.Id, OveragePrice(version!, pf), writes) is { } error) return error;
            }
        }
        await writes.SaveAsync(s);
        return null;
    }

    private sealed class Grants
    {
        public List<BalanceHeader> Headers { get; } = [];
        public List<StoredBucket> Buckets { get; } = [];

        public async Task SaveAsync(IStoreSession s)
        {
            if (Headers.Count > 0) await s.Balances.SaveHeadersAsync(Headers);
            if (Buckets.Count > 0) await s.Balances.SaveBucketsAsync(Buckets);
        }
    }

    /// <summary>Grants one feature; an allowance past the quantity bound (included × quantity, or added to another product's) is refused, never stored as 0.</summary>
    private static KassaError? Grant(OperationContext op, BalanceBook book, string customerId, string entityId, ProductFeature pf, FeatureRecord feature, long quantity,
        string subscriptionId, string? overagePrice, Grants writes)
    {
        var existing = book.Get(customerId, feature.Id, entityId, op.Now);
        if (BalanceWords.Parse<FeatureType>(feature.Type) == FeatureType.Boolean)
        {
            // A flag: no balance, so no overage policy.
            if (existing is null) writes.Headers.Add(NewHeader(op, customerId, entityId, feature.Id, null, "never", subscriptionId));
            return null;
        }
        var unlimited = pf.Included is { Unlimited: true };
        long allowance = 0, rolloverMax = 0;
        // included × quantity: each is validated on its own, the product can pass the bound.
        if (!unlimited && !Micro.TryFromDecimal((pf.Included?.Amount ?? 0) * quantity, out allowance))
            return Overflow($"features '{feature.Id}': included × quantity");
        if (pf.Rollover?.Max is { } max && !Micro.TryFromDecimal(max * quantity, out rolloverMax))
            return Overflow($"features '{feature.Id}': rollover.max × quantity");
        var policy = BalanceWords.Parse<OveragePolicy>(pf.Overage ?? "blocked");
        var header = existing?.Header ?? NewHeader(op, customerId, entityId, feature.Id, policy, pf.Reset ?? "month", subscriptionId);
        if (existing is { Header.SubscriptionId: null })
        {
            // No product owns this balance any more (its plan was revoked — replaced by this upgrade, say —
            // or only bought credits started it): this product takes it over. Its policy, price, rollover and
            // reset period apply from now, as for a new balance; the customer's credit grants and history stay.
            // Without this an upgrade left the balance blocked and never reset (the revoked plan's state).
            if (allowance > Micro.MaxAbs - header.Allowance) return Overflow($"features '{feature.Id}': the allowances of every product together");
            try
            {
                existing.Balance.EnsureGrantRoom(allowance, null);
            }
            catch (BalanceOverflowException)
            {
                return Overflow($"features '{feature.Id}': the allowance with the balance's grants");
            }
            var fresh = NewHeader(op, customerId, entityId, feature.Id, policy, pf.Reset ?? "month", subscriptionId);
            header.SubscriptionId = subscriptionId;
            header.OveragePolicy = policy;
            header.Reset = fresh.Reset;
            header.Anchor = fresh.Anchor;
            header.PeriodStart = fresh.PeriodStart;
            header.NextResetAt = fresh.NextResetAt;
            header.Allowance = allowance;
            header.Unlimited = unlimited;
            header.Rollover = pf.Rollover is not null;
            header.RolloverMax = pf.Rollover?.Max is not null ? rolloverMax : null;
            header.OveragePrice = policy == OveragePolicy.Billed ? overagePrice : null;
            header.UpdatedAt = op.Now;
            writes.Buckets.AddRange(existing.Buckets.Values.Where(b => b.IsNew || b.Changed));
            header.Overage = existing.Balance.Overage;
        }
        else if (existing is not null)
        {
            // A second product granting the same feature (an add-on) adds its allowance; the first product's period and policy stay.
            if (allowance > Micro.MaxAbs - header.Allowance) return Overflow($"features '{feature.Id}': the allowances of every product together");
            try
            {
                existing.Balance.EnsureGrantRoom(allowance, null);
            }
            catch (BalanceOverflowException)
            {
                return Overflow($"features '{feature.Id}': the allowance with the balance's grants");
            }
            header.Allowance += allowance;
            header.Unlimited |= unlimited;
            header.UpdatedAt = op.Now;
            // Bringing the balance up to date may have started a new period: keep what that created.
            writes.Buckets.AddRange(existing.Buckets.Values.Where(b => b.IsNew || b.Changed));
            header.Overage = existing.Balance.Overage;
            header.OveragePrice ??= header.OveragePolicy == OveragePolicy.Billed ? overagePrice : null;
        }
        else
        {
            header.Unlimited = unlimited;
            header.Allowance = allowance;
            header.Rollover = pf.Rollover is not null;
            header.RolloverMax = pf.Rollover?.Max is not null ? rolloverMax : null;
            header.OveragePrice = header.OveragePolicy == OveragePolicy.Billed ? overagePrice : null;
            book.Add(LiveBalance.Empty(header));
        }
        writes.Headers.Add(header);
        if (allowance > 0)
        {
            var (start, end) = Periods.TryParse(header.Reset, out var interval)
                ? Periods.Containing(header.Anchor, interval, 1, op.Now)
                : (op.Now, (DateTimeOffset?)null);
            writes.Buckets.Add(BalanceBook.NewBucket(header, BucketKind.Allowance, allowance, start, end, op.Now));
        }
        return null;
    }

    private static KassaError Overflow(string what) =>
        new(ErrorCodes.QuantityOverflow, $"{what} would pass {Micro.MaxUnits} units", "quantity");

    private static BalanceHeader NewHeader(OperationContext op, string customerId, string entityId, string featureId, OveragePolicy? policy, string reset, string subscriptionId)
    {
        var next = Periods.TryParse(reset, out var interval) ? Periods.Boundary(op.Now, interval, 1, 1) : (DateTimeOffset?)null;
        return new BalanceHeader
        {
            AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = customerId, FeatureId = featureId, EntityId = entityId,
            OveragePolicy = policy, Reset = reset, Anchor = op.Now, PeriodStart = op.Now, NextResetAt = next, SubscriptionId = subscriptionId,
            UpdatedAt = op.Now, IsNew = true,
        };
    }

    /// <summary>
    /// The usage price that bills a feature's overage, as JSON kept on the balance: versions with
    /// subscribers never change, so the copy stays true for the subscription's life.
    /// </summary>
    private static string? OveragePrice(ProductVersionRecord version, ProductFeature pf) =>
        version.Prices.FirstOrDefault(p => p.Type == "usage" && p.FeatureId == pf.FeatureId) is { } price
            ? JsonSerializer.Serialize(price, KassaJson.Options)
            : null;

    /// <summary>
    /// Whether attaching the product charges nothing up front: no recurring or one-time amount and no
    /// prepaid usage. Usage billed in arrears is charged on the period's invoice, not at attach, so a
    /// pay-as-you-go product attaches like a free one (as metered-only subscriptions do elsewhere).
    /// </summary>
    public static bool ChargesNothingUpFront(ProductVersionRecord version) =>
        version.Prices.All(p => p.Type == "usage" ? p.Billing == "in_arrears" : (p.Amount ?? 0) == 0);
}
