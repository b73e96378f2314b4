using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// <c>POST /v1/customers/{id}/balances/adjust</c>: an operator sets a balance's usage and/or its
/// granted total directly (support credits, fixing a bad import). Every change is logged as
/// <c>adjust</c> with the request as its source and audited with the reason. Raising granted adds a
/// never-expiring promotional bucket; lowering it takes from what remains, latest-burning bucket
/// first, and never below what is used or held. <c>used</c> is the period's whole usage, overage
/// included (the same <c>used</c> a balance reports): setting it below the grants clears the overage,
/// above them makes the rest overage.
/// </summary>
public static class AdjustBalance
{
    public const int ReasonLengthMax = 500;

    public sealed record Request(string? FeatureId, decimal? Used, decimal? Granted, string? Reason);

    public static async Task<Result<BalanceView>> Execute(IStoreSession s, OperationContext op, string customerId, Request r)
    {
        if (r.FeatureId is null) return KassaError.Missing("feature_id");
        if (r.Reason is null) return KassaError.Missing("reason");
        var errors = new List<FieldError>();
        if (Rules.Text(r.Reason, ReasonLengthMax, allowEmpty: false) is { } reason) errors.Add(new FieldError("reason", reason));
        if (r.Used is null && r.Granted is null) errors.Add(new FieldError("used", "give used, granted or both"));
        long used = 0, granted = 0;
        if (r.Used is { } u && Micro.Problem(u, allowZero: true, allowNegative: false, out used) is { } uq) errors.Add(new FieldError("used", uq));
        if (r.Granted is { } g && Micro.Problem(g, allowZero: true, allowNegative: false, out granted) is { } gq) errors.Add(new FieldError("granted", gq));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        try
        {
            var book = await BalanceBook.LoadAsync(s, op.Tenant, [customer.Id], [], forUpdate: true, op.Now);
            var live = book.Get(customer.Id, r.FeatureId, "", op.Now);
            if (live is null || live.Header.IsFlag)
                return KassaError.NotFound("balance", $"{customer.Id}/{r.FeatureId}") with { Param = "feature_id" };
            if (live.Header.Unlimited) return KassaError.InvalidState($"The balance of '{r.FeatureId}' is unlimited; there is nothing to adjust");

            var changed = new List<string>();
            var lowered = new List<CreditTransactionRecord>();
            if (r.Granted is not null)
            {
                var delta = granted - live.Balance.Granted(op.Now);
                if (delta > 0)
                {
                    live.Add(new StoredBucket
                    {
                        AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = customer.Id, FeatureId = r.FeatureId, EntityId = "",
                        Bucket = new Bucket(op.NewId(IdPrefixes.Grant), BucketKind.Grant, 10, GrantCategory.Promotional, delta, 0, 0, op.Now, null, op.Now),
                        Name = "adjustment", IsNew = true,
                    });
                }
                else if (delta < 0)
                {
                    var need = -delta;
                    foreach (var b in live.Balance.BurnOrder(op.Now).Reverse())
                    {
                        var take = Math.Min(b.Remaining, need);
                        if (take <= 0) continue;
                        b.Granted -= take;
                        need -= take;
                        lowered.Add(new CreditTransactionRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.CreditTransaction), customer.Id,
                            r.FeatureId, "", MovementType.Adjust, take, b.Id, 0, "adjustment", op.RequestId, op.Now));
                        if (need == 0) break;
                    }
                    if (need > 0)
                        return KassaError.Validation("granted", $"cannot be below what is used and held ({Micro.ToDecimal(granted + need)})");
                }
                changed.Add("granted");
            }
            if (r.Used is not null)
            {
                live.Balance.SetUsed(used, op.Now);
                changed.Add("used");
            }
            // Units granted here pay the period's overage first, as any grant does.
            live.Balance.SettleOverage(op.Now);
            live.Touched = true;
            var after = live.Balance.Remaining(op.Now);
            await BalanceWrites.SaveAsync(s, live, op.Now, "adjustment", op.RequestId, type: MovementType.Adjust,
                extra: lowered.Select(t => t with { BalanceAfter = after }).ToList());
            await RecordAudit.Execute(s, op, "balance.adjusted", "customer", customer.Id, [.. changed.Select(c => $"{r.FeatureId}.{c}"), $"reason: {r.Reason}"]);
            return live.View(op.Now);
        }
        catch (BalanceOverflowException e)
        {
            // The core refuses before changing anything; the error rolls the transaction back.
            return new KassaError(ErrorCodes.QuantityOverflow, e.Message, r.Used is not null ? "used" : "granted");
        }
    }
}
