using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>carry_over</c> on <c>POST /v1/subscribe</c> (spec §4.1) for an upgrade within a group: what the
/// old plan's metered balances had this period follows the customer to the new plan.
/// <list type="bullet">
/// <item><c>{"balances": true}</c>: the unused remaining of the old plan's allowance and rollover, per
/// metered feature the new plan also has, is added once to the new balance as a rollover bucket that
/// expires at the balance's next reset (so it never comes back, and never rolls over again).</item>
/// <item><c>{"usages": ["api_calls"]}</c>: the units used from the old plan's allowance and rollover so
/// far this period are deducted from the new plan's allowance (at most all of it). Overage of the old
/// plan is not deducted again: the old plan's final invoice bills it.</item>
/// </list>
/// Credit grants are never carried: they belong to the customer and stay on the balance anyway. An
/// unlimited balance (old or new) carries nothing. A downgrade starts at the period end, when nothing
/// of the old period is left unused or in use, so <c>carry_over</c> with a downgrade (or with a
/// subscribe that changes no plan) is refused with <c>validation_failed</c> rather than ignored.
/// </summary>
public static class CarryOverBalances
{
    /// <summary>Feature ids <c>usages</c> may name.</summary>
    public const int UsagesMax = 100;

    /// <summary>Exactly one of the two forms.</summary>
    public sealed record CarryOver(bool? Balances, List<string?>? Usages);

    /// <summary>What the old plan's balances held when it ended, per (feature, entity): unused and used plan units.</summary>
    public sealed record Measured(IReadOnlyDictionary<(string Feature, string Entity), (long Unused, long Used)> Balances);

    /// <summary>The body's own shape, before anything is read.</summary>
    public static KassaError? Validate(CarryOver? c)
    {
        if (c is null) return null;
        if (c.Balances is not null && c.Usages is not null)
            return KassaError.Validation("carry_over", "must be either {\"balances\": true} or {\"usages\": [feature ids]}, not both");
        if (c.Balances is null && c.Usages is null)
            return KassaError.Validation("carry_over", "must be {\"balances\": true} or {\"usages\": [feature ids]}");
        if (c.Balances == false) return KassaError.Validation("carry_over.balances", "must be true (leave carry_over out to carry nothing)");
        if (c.Usages is { } usages)
        {
            if (usages.Count == 0 || usages.Count > UsagesMax) return KassaError.Validation("carry_over.usages", $"must name 1 to {UsagesMax} feature ids");
            if (usages.Any(string.IsNullOrEmpty)) return KassaError.Validation("carry_over.usages", "must hold feature ids (non-empty strings)");
            if (usages.Distinct(StringComparer.Ordinal).Count() != usages.Count) return KassaError.Validation("carry_over.usages", "must not name a feature twice");
        }
        return null;
    }

    /// <summary><c>usages</c> must name metered features the new product version grants.</summary>
    public static async Task<KassaError?> CheckAgainstAsync(IStoreSession s, OperationContext op, CarryOver c, ProductRecord product, ProductVersionRecord version)
    {
        if (c.Usages is not { } usages) return null;
        var features = (await s.Catalog.GetFeaturesAsync(op.Tenant, usages.Select(u => u!).ToList())).ToDictionary(f => f.Id);
        foreach (var id in usages)
        {
            if (version.Features.All(f => f.FeatureId != id) || !features.TryGetValue(id!, out var feature))
                return KassaError.Validation("carry_over.usages", $"'{id}' is not a feature of product '{product.Id}'");
            if (BalanceWords.Parse<FeatureType>(feature.Type) == FeatureType.Boolean)
                return KassaError.Validation("carry_over.usages", $"'{id}' is a boolean feature; it has no usage to carry");
        }
        return null;
    }

    /// <summary>Before the old subscription ends: its balances' unused and used plan units at this instant.</summary>
    public static async Task<Measured> MeasureAsync(IStoreSession s, OperationContext op, SubscriptionRecord old)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [old.CustomerId], [], forUpdate: true, op.Now);
        var measured = new Dictionary<(string, string), (long, long)>();
        foreach (var loaded in book.All.Where(b => b.Header.CustomerId == old.CustomerId && b.Header.SubscriptionId == old.Id).ToList())
        {
            var live = book.Get(loaded.Header.CustomerId, loaded.Header.FeatureId, loaded.Header.EntityId, op.Now)!;
            if (live.Header.IsFlag || live.Header.Unlimited) continue;
            var plan = live.Balance.Buckets.Where(b => b.Kind is BucketKind.Allowance or BucketKind.Rollover && b.IsUsable(op.Now)).ToList();
            measured[(live.Header.FeatureId, live.Header.EntityId)] = (plan.Sum(b => Math.Max(0, b.Remaining)), plan.Sum(b => b.Used));
        }
        return new Measured(measured);
    }

    /// <summary>After the new subscription's balances are granted: adds the unused units, or deducts the used ones.</summary>
    public static async Task<KassaError?> ApplyAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductVersionRecord version, CarryOver c,
        Measured measured)
    {
        if (measured.Balances.Count == 0) return null;
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        foreach (var ((featureId, entityId), (unused, used)) in measured.Balances)
        {
            // Only to a feature the new plan grants too: there is nothing to add to, or deduct from, otherwise.
            if (version.Features.All(f => f.FeatureId != featureId)) continue;
            var live = book.Get(sub.CustomerId, featureId, entityId, op.Now);
            if (live is null || live.Header.IsFlag || live.Header.Unlimited) continue;
            List<CreditTransactionRecord>? extra = null;
            if (c.Balances == true)
            {
                if (unused <= 0) continue;
                try
                {
                    live.Add(BalanceBook.NewBucket(live.Header, BucketKind.Rollover, unused, op.Now, live.Header.NextResetAt, op.Now));
                }
                catch (BalanceOverflowException)
                {
                    return new KassaError(ErrorCodes.QuantityOverflow, $"carry_over: feature '{featureId}' would pass {Micro.MaxUnits} units", "carry_over");
                }
            }
            else
            {
                if (used <= 0 || c.Usages!.All(u => u != featureId)) continue;
                // The old plan's allowance was voided when it ended, so the usable allowance is the new plan's, just granted.
                var allowance = live.Balance.Buckets.Where(b => b.Kind == BucketKind.Allowance && b.IsUsable(op.Now)).ToList();
                extra = [];
                var left = used;
                foreach (var bucket in allowance)
                {
                    var take = Math.Min(left, bucket.Remaining);
                    if (take <= 0) continue;
                    bucket.Used += take;
                    left -= take;
                    extra.Add(new CreditTransactionRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.CreditTransaction), sub.CustomerId,
                        featureId, entityId, MovementType.Consume, take, bucket.Id, live.Balance.Remaining(op.Now), "subscription", sub.Id, op.Now));
                }
                if (extra.Count == 0) continue;
            }
            live.Header.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id, extra: extra);
        }
        return null;
    }
}
