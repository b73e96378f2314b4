using System.Text.Json;
using Kassa.Core.Balances;
using Kassa.Core.Periods;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// At the renewal of a subscription that <c>POST /v1/products/{id}/migrate</c> marked: moves it to the
/// marked version before the new period is billed, inside the renewal's transaction (the subscription
/// row is locked). The caller has already priced the closed period's usage with the old version. From
/// here the new period's fees come from the new version, and so do the balances:
/// <list type="bullet">
/// <item>a metered feature in both versions keeps its balance (usage history, rollover, credit grants)
/// and has its current allowance replaced — the old version's unused allowance for the period that
/// starts now is voided and the new version's allowance granted — with the new overage policy, price,
/// rollover and reset;</item>
/// <item>a feature only the old version had is revoked (<see cref="RevokeProduct"/>); one only the new
/// version has is granted (<see cref="AttachProduct.GrantAsync"/>); a feature whose <c>per_entity</c>
/// changed is revoked and granted again;</item>
/// <item>when this product only adds to a balance another product started (an add-on), its share of the
/// allowance changes from the next reset on, as a revoke would take it.</item>
/// </list>
/// A new billing interval starts its periods at the switch.
/// </summary>
public static class SwitchProductVersion
{
    public static async Task<(SubscriptionRecord Sub, ProductVersionRecord Version, BillingPlan Plan)> ExecuteAsync(IStoreSession s, OperationContext op,
        SubscriptionRecord sub, ProductVersionRecord oldVersion, int target, DateTimeOffset switchAt)
    {
        var version = await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, target)
            ?? throw new InvalidOperationException($"Subscription {sub.Id} is marked to move to version {target} of {sub.ProductId}, which does not exist");
        var plan = BillingPlan.Of(version);
        bool Same(ProductFeature a, ProductFeature b) => a.FeatureId == b.FeatureId && a.PerEntity == b.PerEntity;
        var removed = oldVersion.Features.Where(f => !version.Features.Any(n => Same(f, n))).ToList();
        var added = version.Features.Where(f => !oldVersion.Features.Any(o => Same(f, o))).ToList();
        var kept = version.Features.Where(f => oldVersion.Features.Any(o => Same(f, o))).ToList();

        if (removed.Count > 0) await RevokeProduct.Execute(s, op, sub, oldVersion with { Features = removed });
        if (kept.Count > 0) await ReplaceAllowancesAsync(s, op, sub, oldVersion, version, kept);
        if (added.Count > 0 && await AttachProduct.GrantAsync(s, op, sub.CustomerId, sub.Id, version with { Features = added }, sub.Quantity) is { } error)
            throw new InvalidOperationException($"Granting version {target} of {sub.ProductId} to subscription {sub.Id} failed: {error.Message}");

        var intervalChanged = plan.Interval != sub.Interval || plan.IntervalCount != sub.IntervalCount;
        var switched = sub with
        {
            ProductVersion = version.Version, Interval = plan.Interval, IntervalCount = plan.IntervalCount, Currency = plan.Currency ?? sub.Currency,
            BillingAnchor = intervalChanged ? switchAt : sub.BillingAnchor,
        };
        return (switched, version, plan);
    }

    private static async Task ReplaceAllowancesAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductVersionRecord oldVersion,
        ProductVersionRecord version, IReadOnlyList<ProductFeature> kept)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        foreach (var loaded in book.All.Where(b => b.Header.CustomerId == sub.CustomerId).ToList())
        {
            var pf = kept.FirstOrDefault(f => f.FeatureId == loaded.Header.FeatureId);
            if (pf is null) continue;
            // Brought up to date first, so the period that starts now has its reset (and its allowance) recorded.
            var live = book.Get(loaded.Header.CustomerId, loaded.Header.FeatureId, loaded.Header.EntityId, op.Now)!;
            var h = live.Header;
            if (h.IsFlag) continue;
            var old = oldVersion.Features.First(f => f.FeatureId == pf.FeatureId);
            var quantity = pf.PerEntity is null ? sub.Quantity : 1;
            var oldShare = Share(old, quantity);
            var newShare = Share(pf, quantity);
            if (h.SubscriptionId != sub.Id)
            {
                h.Allowance = checked(Math.Max(0, h.Allowance - oldShare) + newShare);
                h.UpdatedAt = op.Now;
                await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
                continue;
            }
            foreach (var stored in live.Buckets.Values.ToList())
            {
                var b = stored.Bucket;
                if (b.Kind == BucketKind.Allowance && !b.Voided && b.IsUsable(op.Now)) live.Balance.Void(b.Id);
            }
            h.Allowance = newShare;
            h.Unlimited = pf.Included is { Unlimited: true };
            h.OveragePolicy = BalanceWords.Parse<OveragePolicy>(pf.Overage ?? "blocked");
            h.OveragePrice = h.OveragePolicy == OveragePolicy.Billed && version.Prices.FirstOrDefault(p => p.Type == "usage" && p.FeatureId == pf.FeatureId) is { } price
                ? JsonSerializer.Serialize(price, KassaJson.Options)
                : null;
            h.Rollover = pf.Rollover is not null;
            h.RolloverMax = pf.Rollover?.Max is { } max ? Micros(max * quantity, pf.FeatureId!) : null;
            var reset = pf.Reset ?? "month";
            if (reset != h.Reset)
            {
                // A new reset interval counts its periods from the switch.
                h.Reset = reset;
                h.Anchor = op.Now;
                h.PeriodStart = op.Now;
                h.NextResetAt = Periods.TryParse(reset, out var i) ? Periods.Boundary(op.Now, i, 1, 1) : null;
            }
            if (newShare > 0)
            {
                var (start, end) = Periods.TryParse(h.Reset, out var interval)
                    ? Periods.Containing(h.Anchor, interval, 1, op.Now)
                    : (op.Now, (DateTimeOffset?)null);
                live.Add(BalanceBook.NewBucket(h, BucketKind.Allowance, newShare, start, end, op.Now));
            }
            h.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
        }
    }

    /// <summary>A version's allowance of a feature for the quantity in micro-units (0 for unlimited, which the flag carries).</summary>
    private static long Share(ProductFeature pf, long quantity) =>
        pf.Included is { Unlimited: false, Amount: var amount } ? Micros(amount * quantity, pf.FeatureId!) : 0;

    private static long Micros(decimal units, string featureId) =>
        Micro.TryFromDecimal(units, out var micros)
            ? micros
            : throw new InvalidOperationException($"Feature '{featureId}': {units} units do not fit the quantity bound");
}
