using Kassa.Core.Errors;
using Kassa.Core.Invoicing;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Subscribing to another product of the group a customer already has a plan in (spec §4.1). A
/// higher fixed price per period is an <b>upgrade</b>: the old subscription ends now (its usage so far
/// on a final invoice, its balances revoked), the new one starts a new period now and is active at
/// once, and one invoice charges the new price in full minus the unused part of the old period —
/// prorated by the second and rounded once per line (the spec's <c>5000 / −1500</c> shape). A charge
/// that fails leaves the new plan <c>past_due</c> under dunning, as a renewal would, rather than taking
/// access away mid-period. A lower (or equal) price is a <b>downgrade</b>: a <c>scheduled</c>
/// subscription to the new product is written to start when the current period ends, and the old one
/// names it in <c>scheduled_product_id</c>; the renewal at that instant makes the switch.
/// </summary>
public static class ChangePlan
{
    public const string ReasonUpgraded = "upgraded";
    public const string ReasonDowngraded = "downgraded";

    public static async Task<Result<Subscribe.Started>> Execute(IStoreSession s, OperationContext op, SubscriptionRecord old, ProductRecord product,
        ProductVersionRecord version, long quantity, CarryOverBalances.CarryOver? carryOver = null)
    {
        if (!SubscriptionStatus.Renews(old.Status))
            return KassaError.InvalidState($"Subscription '{old.Id}' is {old.Status}; only a live plan can be changed");
        if (old.ScheduledProductId is not null)
            return KassaError.InvalidState($"Subscription '{old.Id}' already has a change to '{old.ScheduledProductId}' scheduled; cancel that first");
        var oldProduct = (await s.Catalog.GetProductAsync(op.Tenant, old.ProductId))!;
        var oldVersion = (await s.Catalog.GetVersionAsync(op.Tenant, old.ProductId, old.ProductVersion))!;
        var oldPlan = BillingPlan.Of(oldVersion);
        var plan = BillingPlan.Of(version);
        if (plan.Currency is not null && oldPlan.Currency is not null && plan.Currency != oldPlan.Currency)
            return KassaError.InvalidState($"Product '{product.Id}' is priced in {plan.Currency} and '{oldProduct.Id}' in {oldPlan.Currency}; a plan change keeps the currency");
        var newAmount = checked(plan.RecurringAmount * quantity);
        var oldAmount = checked(oldPlan.RecurringAmount * old.Quantity);
        if (carryOver is not null)
        {
            // A downgrade starts at the period end, when nothing of the old period is left unused or in use.
            if (newAmount <= oldAmount) return KassaError.Validation("carry_over", "applies only to an upgrade; a downgrade starts at the period end with nothing to carry");
            if (await CarryOverBalances.CheckAgainstAsync(s, op, carryOver, product, version) is { } carryError) return carryError;
        }
        return newAmount > oldAmount
            ? await UpgradeAsync(s, op, old, oldProduct, oldAmount, product, version, plan, quantity, newAmount, carryOver)
            : await ScheduleDowngradeAsync(s, op, old, product, version, quantity);
    }

    private static async Task<Result<Subscribe.Started>> UpgradeAsync(IStoreSession s, OperationContext op, SubscriptionRecord old, ProductRecord oldProduct,
        long oldAmount, ProductRecord product, ProductVersionRecord version, BillingPlan plan, long quantity, long newAmount, CarryOverBalances.CarryOver? carryOver)
    {
        // Unused time is credited only for a period that was paid for: not a trial, not an unpaid renewal.
        var credit = 0L;
        if (old.Status == SubscriptionStatus.Active && old.LatestInvoiceId is { } latest &&
            await s.Invoices.GetAsync(op.Tenant, latest) is { Status: InvoiceRules.Paid } paid && paid.PeriodStart == old.CurrentPeriodStart)
            credit = oldAmount;
        var (oldStart, oldEnd) = (old.CurrentPeriodStart!.Value, old.CurrentPeriodEnd!.Value);
        // Measured before the old plan ends: ending it voids what was left of its allowance.
        var carried = carryOver is null ? null : await CarryOverBalances.MeasureAsync(s, op, old);
        await CancelSubscription.EndAsync(s, op, old, ReasonUpgraded);

        var sub = AttachProduct.NewSubscription(op, old.CustomerId, product, version, quantity, SubscriptionStatus.Active, op.Now, testClockId: old.TestClockId);
        await s.Subscriptions.InsertAsync(sub);
        if (await AttachProduct.GrantAsync(s, op, sub.CustomerId, sub.Id, version, quantity) is { } grantError) return grantError;
        if (carried is not null && await CarryOverBalances.ApplyAsync(s, op, sub, version, carryOver!, carried) is { } carryError) return carryError;
        var lines = Proration.Upgrade(quantity == 1 ? product.Name : $"{product.Name} × {quantity}", newAmount, sub.CurrentPeriodEnd!.Value,
            oldProduct.Name, credit, oldStart, oldEnd, op.Now, product.Id, oldProduct.Id);
        await EmitEvent.Execute(s, op, EventTypes.SubscriptionCreated, "subscription", sub.Id, SubscriptionResource.From(sub));
        var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, sub, plan.Currency!, SubscriptionBilling.ReasonUpdate, sub.CurrentPeriodStart!.Value,
            sub.CurrentPeriodEnd!.Value, lines);
        if (!invoiced.IsOk) return invoiced.Error!;
        var invoice = invoiced.Value!;
        sub = sub with { LatestInvoiceId = invoice.Id };
        await s.Subscriptions.UpdateAsync(sub);
        if (invoice.Status != InvoiceRules.Open)
            return new Subscribe.Started(new Subscribe.Response(sub.Status, SubscriptionResource.From(sub), invoice, null, null), null);
        var begun = await ChargeInvoice.BeginAsync(s, op, invoice.Id, null);
        if (begun.IsOk)
            return new Subscribe.Started(new Subscribe.Response(sub.Status, SubscriptionResource.From(sub), invoice, null, null), begun.Value);
        await SubscriptionPayments.ChargeCouldNotBeginAsync(s, op, invoice.Id, begun.Error!.Code);
        sub = (await s.Subscriptions.GetAsync(op.Tenant, sub.Id))!;
        var session = await Checkout.CheckoutRules.BindAsync(s, op, Checkout.CheckoutRules.ModeSubscription, sub.CustomerId, sub.Id, invoice, product.Id, quantity,
            null, null);
        return new Subscribe.Started(new Subscribe.Response(Subscribe.RequiresCheckout, SubscriptionResource.From(sub), invoice,
            Checkout.CheckoutLinks.Url(op.Tenant, session.Id), null), null);
    }

    private static async Task<Result<Subscribe.Started>> ScheduleDowngradeAsync(IStoreSession s, OperationContext op, SubscriptionRecord old,
        ProductRecord product, ProductVersionRecord version, long quantity)
    {
        var start = old.CurrentPeriodEnd!.Value;
        var scheduled = AttachProduct.NewSubscription(op, old.CustomerId, product, version, quantity, SubscriptionStatus.Scheduled, start, testClockId: old.TestClockId);
        await s.Subscriptions.InsertAsync(scheduled);
        await SubscriptionPayments.SaveAsync(s, op, old, old with { ScheduledProductId = product.Id, UpdatedAt = op.Now }, EventTypes.SubscriptionScheduled);
        await EmitEvent.Execute(s, op, EventTypes.SubscriptionCreated, "subscription", scheduled.Id, SubscriptionResource.From(scheduled));
        return new Subscribe.Started(new Subscribe.Response(SubscriptionStatus.Scheduled, SubscriptionResource.From(scheduled), null, null, null), null);
    }

    /// <summary>
    /// At the renewal of a subscription with a scheduled downgrade: the old one ends, the scheduled one
    /// becomes active for the period starting now, its balances are granted and its first period is
    /// invoiced (with the old plan's usage in arrears on the old plan's final invoice). Returns the new
    /// subscription and the charge attempt to complete.
    /// </summary>
    public static async Task<(SubscriptionRecord? Started, string? InvoiceId, string? PaymentId)> SwitchAsync(IStoreSession s, OperationContext op, SubscriptionRecord old)
    {
        var scheduled = (await s.Subscriptions.ListAsync(op.Tenant, new SubscriptionFilter(old.CustomerId, SubscriptionStatus.Scheduled), null, Catalog.GetPricingTable.SubscriptionsMax))
            .FirstOrDefault(x => x.ProductId == old.ScheduledProductId);
        await CancelSubscription.EndAsync(s, op, old, ReasonDowngraded);
        if (scheduled is null) return (null, null, null);
        var product = (await s.Catalog.GetProductAsync(op.Tenant, scheduled.ProductId))!;
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, scheduled.ProductId, scheduled.ProductVersion))!;
        var plan = BillingPlan.Of(version);
        var sub = scheduled with { Status = SubscriptionStatus.Active, UsageBilledThrough = op.Now, UpdatedAt = op.Now };
        if (await AttachProduct.GrantAsync(s, op, sub.CustomerId, sub.Id, version, sub.Quantity) is { } error)
            throw new InvalidOperationException($"Granting subscription {sub.Id}'s balances failed: {error.Message}");
        string? invoiceId = null, paymentId = null;
        var lines = Subscribe.FirstInvoiceLines(product, version, plan, sub.Quantity, sub.CurrentPeriodStart!.Value, sub.CurrentPeriodEnd!.Value);
        if (plan.Currency is { } currency && lines.Count > 0)
        {
            var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, sub, currency, SubscriptionBilling.ReasonCycle, sub.CurrentPeriodStart!.Value,
                sub.CurrentPeriodEnd!.Value, lines);
            if (!invoiced.IsOk) throw new InvalidOperationException($"First invoice of {sub.Id}: {invoiced.Error!.Message}");
            invoiceId = invoiced.Value!.Id;
            sub = sub with { LatestInvoiceId = invoiceId };
            if (invoiced.Value.Status == InvoiceRules.Open)
            {
                await SubscriptionPayments.SaveAsync(s, op, scheduled, sub, EventTypes.SubscriptionActivated);
                var begun = await ChargeInvoice.BeginAsync(s, op, invoiceId, null);
                if (begun.IsOk) return (sub, invoiceId, begun.Value);
                await SubscriptionPayments.ChargeCouldNotBeginAsync(s, op, invoiceId, begun.Error!.Code);
                return (sub, invoiceId, null);
            }
        }
        await SubscriptionPayments.SaveAsync(s, op, scheduled, sub, EventTypes.SubscriptionActivated);
        return (sub, invoiceId, paymentId);
    }
}
