using Kassa.Core.Balances;
using Kassa.Core.Ids;
using Kassa.Core.Invoicing;
using Kassa.Core.Periods;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// What a product version bills and how often: its fixed fees, one-time prices, usage prices, the
/// currency and the billing interval (the recurring price's; a product without one bills its usage
/// monthly).
/// </summary>
public sealed record BillingPlan(string? Currency, Interval Interval, int IntervalCount, IReadOnlyList<Price> Recurring, IReadOnlyList<Price> OneTime,
    IReadOnlyList<Price> Usage)
{
    public long RecurringAmount => Recurring.Sum(p => p.Amount ?? 0);

    /// <summary>
    /// A product sold once (spec §4.1 "`one_time` product"): one-time prices and nothing recurring or
    /// usage-priced, so buying it is a purchase that never renews (<see cref="PurchaseOneTime"/>).
    /// </summary>
    public bool IsOneTime => OneTime.Count > 0 && Recurring.Count == 0 && Usage.Count == 0;

    public static BillingPlan Of(ProductVersionRecord version)
    {
        var recurring = version.Prices.Where(p => p.Type == "recurring").ToList();
        var first = recurring.FirstOrDefault();
        var interval = first?.Interval is { } i && Periods.TryParse(i, out var parsed) ? parsed : Interval.Month;
        var currency = version.Prices.Select(p => p.Currency).FirstOrDefault(c => c is not null);
        return new BillingPlan(currency, interval, first?.IntervalCount ?? 1, recurring, [.. version.Prices.Where(p => p.Type == "one_time")],
            [.. version.Prices.Where(p => p.Type == "usage")]);
    }

    public IReadOnlyList<RecurringFee> Fees(ProductRecord product) =>
        [.. Recurring.Where(p => (p.Amount ?? 0) > 0).Select(p => new RecurringFee(product.Id, product.Name, p.Amount!.Value))];
}

/// <summary>Writes a subscription's invoice: a draft with the given lines, then finalized (numbered, posted, taxed, discounted).</summary>
public static class SubscriptionBilling
{
    /// <summary>Why an invoice was made (stored in <c>invoices.billing_reason</c>); a cycle invoice is unique per subscription and period start.</summary>
    public const string ReasonCreate = "subscription_create";
    public const string ReasonCycle = "subscription_cycle";
    public const string ReasonUpdate = "subscription_update";

    /// <summary>
    /// Inserts a draft for the subscription with <paramref name="lines"/> and finalizes it. Returns
    /// null (nothing written) when there are no lines.
    /// </summary>
    public static async Task<Kassa.Core.Errors.Result<InvoiceResource?>> InvoiceAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, string currency,
        string reason, DateTimeOffset periodStart, DateTimeOffset periodEnd, IReadOnlyList<LineInput> lines, string? couponId = null)
    {
        if (lines.Count == 0) return (InvoiceResource?)null;
        var invoice = new InvoiceRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Invoice), sub.CustomerId, sub.Id, null, InvoiceRules.Draft,
            currency, null, periodStart, periodEnd, 0, 0, 0, 0, 0, 0, op.Now, null, null, BillingReason: reason, CouponId: couponId);
        // Lines are read back in (created_at, id) order; ids made in the same instant sort at random, so each
        // line is stamped one microsecond after the one before it and the invoice keeps the order given.
        var records = lines.Select((l, i) => new InvoiceLineRecord(op.Tenant.AccountId, op.Tenant.Livemode, invoice.Id, op.NewId(IdPrefixes.InvoiceLine),
            LineTypeName(l.Type), l.Description, Micros(l.Quantity), l.UnitAmountDecimal, l.AmountMinor, op.Now.AddTicks(i * 10L),
            l.PeriodStart, l.PeriodEnd, l.ProductId, l.FeatureId)).ToList();
        var draft = InvoiceRules.WithFigures(invoice, records);
        await s.Invoices.InsertAsync(draft);
        foreach (var line in records) await s.Invoices.InsertLineAsync(line);
        await EmitEvent.Execute(s, op, EventTypes.InvoiceCreated, "invoice", invoice.Id, InvoiceResource.From(draft, records));
        var finalized = await FinalizeInvoice.Execute(s, op, draft, records);
        if (!finalized.IsOk) return finalized.Error!;
        return finalized.Value;
    }

    /// <summary>A line quantity in micro-units; quantities here come from micro-unit balances or whole subscription quantities, so they always convert.</summary>
    private static long Micros(decimal quantity) =>
        Micro.TryFromDecimal(quantity, out var micros) ? micros : throw new OverflowException($"Line quantity {quantity} does not fit micro-units");

    public static string LineTypeName(LineType type) => type switch
    {
        LineType.Recurring => "recurring",
        LineType.Usage => "usage",
        LineType.OneTime => "one_time",
        LineType.Proration => "proration",
        LineType.Manual => "manual",
        LineType.PriorPeriod => "prior_period",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The first billing period from <paramref name="anchor"/>.</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) FirstPeriod(BillingPlan plan, DateTimeOffset anchor) =>
        (anchor, Periods.Boundary(anchor, plan.Interval, plan.IntervalCount, 1));

    /// <summary>The billing period that starts at <paramref name="start"/> (a boundary of the anchor).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) PeriodStartingAt(SubscriptionRecord sub, DateTimeOffset start) =>
        Periods.Containing(sub.BillingAnchor ?? sub.CreatedAt, sub.Interval, sub.IntervalCount, start);
}
