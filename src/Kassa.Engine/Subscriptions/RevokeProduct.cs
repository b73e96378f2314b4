using Kassa.Core.Balances;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Takes back what a subscription granted when it ends (canceled, expired, replaced): a boolean
/// feature's entitlement is removed; a metered balance loses this product's allowance — its
/// remaining plan allowance and rollover are voided, and with no other product left it becomes
/// <c>blocked</c>, so usage can no longer run into overage that nothing would bill. Credit grants
/// the customer bought or was given stay. An add-on's share of a balance another product started
/// is subtracted from the allowance the next reset grants. Runs in the caller's transaction with the
/// customer's balance rows locked.
/// </summary>
public static class RevokeProduct
{
    public static async Task Execute(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductVersionRecord version)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        var features = version.Features.Select(f => f.FeatureId!).ToHashSet(StringComparer.Ordinal);
        foreach (var live in book.All.Where(b => b.Header.CustomerId == sub.CustomerId && features.Contains(b.Header.FeatureId)).ToList())
        {
            var h = live.Header;
            var pf = version.Features.First(f => f.FeatureId == h.FeatureId);
            if (h.SubscriptionId != sub.Id)
            {
                // Another product started this balance; only this product's share of the allowance goes.
                if (h.IsFlag || pf.Included is not { Unlimited: false, Amount: var amount }) continue;
                var quantity = pf.PerEntity is null ? sub.Quantity : 1;
                if (Micro.TryFromDecimal(amount * quantity, out var share)) h.Allowance = Math.Max(0, h.Allowance - share);
                h.UpdatedAt = op.Now;
                await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
                continue;
            }
            if (h.IsFlag)
            {
                await s.Balances.DeleteFlagAsync(op.Tenant, h.CustomerId, h.FeatureId, h.EntityId);
                continue;
            }
            // The period's overage so far becomes a reset movement now, so the final invoice (which sums
            // resets up to this instant) bills it and no later subscription ever sees it.
            live.Balance.ResetOverage();
            foreach (var stored in live.Buckets.Values)
            {
                var b = stored.Bucket;
                if (b.Kind is BucketKind.Allowance or BucketKind.Rollover && !b.Voided) live.Balance.Void(b.Id);
            }
            h.Allowance = 0;
            h.Unlimited = false;
            h.OveragePolicy = OveragePolicy.Blocked;
            h.OveragePrice = null;
            h.SubscriptionId = null;
            h.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
        }
    }
}
