using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Invoicing;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>PATCH /v1/subscriptions/{id} {quantity}</c> (spec §4.2). More: the added units are granted now and
/// charged now for the rest of the period — the fixed fee × the added units × the unused fraction of
/// the period by the second, one proration line rounded once (nothing is charged during a trial).
/// Fewer: the period already paid keeps its quantity; the lower one is stored as
/// <c>scheduled_quantity</c> and takes effect (fees and allowances) at the next renewal. The same
/// quantity again cancels a scheduled decrease.
/// </summary>
public static class UpdateSubscriptionQuantity
{
    public sealed record Request(long? Quantity);

    public sealed record Done(SubscriptionResource Subscription, string? PaymentId, DateTimeOffset? At = null);

    public static async Task<Result<Done>> Execute(IStoreSession s, OperationContext op, string id, Request r)
    {
        if (r.Quantity is not { } quantity) return KassaError.Missing("quantity");
        if (quantity < 1 || quantity > Subscribe.QuantityMax) return KassaError.Validation("quantity", $"must be from 1 to {Subscribe.QuantityMax}");
        var sub = await s.Subscriptions.GetAsync(op.Tenant, id, forUpdate: true);
        if (sub is null) return KassaError.NotFound("subscription", id);
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, sub.TestClockId);
        if (!SubscriptionStatus.Renews(sub.Status)) return KassaError.InvalidState($"Subscription '{sub.Id}' is {sub.Status}; only a live subscription's quantity can change");
        return await ChangeAsync(s, op, sub, quantity);
    }

    public static async Task<Result<Done>> ChangeAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, long quantity)
    {
        if (quantity <= sub.Quantity)
        {
            var after = sub with { ScheduledQuantity = quantity == sub.Quantity ? null : quantity, UpdatedAt = op.Now };
            await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionUpdated);
            return new Done(SubscriptionResource.From(after), null, op.Now);
        }
        var product = (await s.Catalog.GetProductAsync(op.Tenant, sub.ProductId))!;
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!;
        var plan = BillingPlan.Of(version);
        var added = quantity - sub.Quantity;
        if (await AttachProduct.GrantAsync(s, op, sub.CustomerId, sub.Id, version, added) is { } error) return error;
        var increased = sub with { Quantity = quantity, ScheduledQuantity = null, UpdatedAt = op.Now };
        string? paymentId = null;
        if (sub.Status != SubscriptionStatus.Trialing && plan.Currency is { } currency && plan.RecurringAmount > 0 &&
            sub is { CurrentPeriodStart: { } start, CurrentPeriodEnd: { } end } && end > op.Now)
        {
            var fee = checked(plan.RecurringAmount * added);
            var amount = Proration.Prorate(fee, Proration.Fraction(start, end, op.Now, end));
            if (amount > 0)
            {
                var line = new LineInput(LineType.Proration, $"{product.Name} × {added} added for the rest of the period", added, (decimal)amount / added, amount,
                    op.Now, end, product.Id);
                var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, increased, currency, SubscriptionBilling.ReasonUpdate, op.Now, end, [line]);
                if (!invoiced.IsOk) return invoiced.Error!;
                if (invoiced.Value is { Status: InvoiceRules.Open } invoice)
                {
                    var begun = await ChargeInvoice.BeginAsync(s, op, invoice.Id, null);
                    if (begun.IsOk) paymentId = begun.Value;
                }
            }
        }
        await SubscriptionPayments.SaveAsync(s, op, sub, increased, EventTypes.SubscriptionUpdated);
        return new Done(SubscriptionResource.From(increased), paymentId, op.Now);
    }

    /// <summary>At a renewal: applies a scheduled decrease — the plan allowances shrink by the removed units' share.</summary>
    public static async Task<SubscriptionRecord> ApplyScheduledAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductVersionRecord version)
    {
        if (sub.ScheduledQuantity is not { } lower || lower >= sub.Quantity) return sub with { ScheduledQuantity = null };
        var removed = sub.Quantity - lower;
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        foreach (var pf in version.Features.Where(f => f.PerEntity is null && f.Included is { Unlimited: false }))
        {
            var live = book.Get(sub.CustomerId, pf.FeatureId!, "", op.Now);
            if (live is null || live.Header.IsFlag || !Micro.TryFromDecimal(pf.Included!.Value.Amount * removed, out var share)) continue;
            live.Header.Allowance = Math.Max(0, live.Header.Allowance - share);
            live.Header.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
        }
        return sub with { Quantity = lower, ScheduledQuantity = null };
    }
}
