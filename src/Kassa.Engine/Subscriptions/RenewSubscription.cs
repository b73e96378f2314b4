using Kassa.Core.Balances;
using Kassa.Core.Invoicing;
using Kassa.Engine.Balances;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Renews one subscription whose period has ended (spec §4.2), in one transaction with the
/// subscription row locked: the customer's balances are brought up to date (so each reset records the
/// closed period's billed overage), then one invoice bills the next period's fixed fees in advance and
/// the closed period's usage in arrears, is finalized, and its charge attempt is written (completed by
/// the caller after the commit). The invoice is unique per subscription and period start, so a rerun,
/// a crash mid-run or two nodes racing bill a period once. A subscription more than one period behind
/// renews one period per call, in time order. With <c>cancel_at_period_end</c> it ends instead
/// (usage billed on a final invoice); a trial that ends with no payment method on file ends the
/// subscription (reason <c>trial_ended</c>).
/// </summary>
public static class RenewSubscription
{
    public const string ReasonTrialEnded = "trial_ended";

    /// <summary>What a renewal did: the invoice it made (if any) and the charge attempt to complete.</summary>
    /// <param name="Charge">The renewal invoice's attempt with what completing it needs (the renewal run completes a batch's attempts without reading them back).</param>
    public sealed record Renewed(string SubscriptionId, string? InvoiceId, string? PaymentId, bool Ended, ChargeInvoice.BegunCharge? Charge = null);

    public static async Task<Renewed?> Execute(IStoreSession s, OperationContext op, string subscriptionId)
    {
        var sub = await s.Subscriptions.GetAsync(op.Tenant, subscriptionId, forUpdate: true);
        if (sub is null || sub.Paused || !SubscriptionStatus.Renews(sub.Status) || sub.CurrentPeriodEnd is not { } end || end > op.Now) return null;
        if (sub.CancelAtPeriodEnd)
        {
            var (_, finalPayment) = await CancelSubscription.EndAsync(s, op, sub, "canceled_at_period_end");
            return new Renewed(sub.Id, null, finalPayment, true);
        }
        if (sub.ScheduledProductId is not null)
        {
            var (started, switchedInvoice, switchedPayment) = await ChangePlan.SwitchAsync(s, op, sub);
            return new Renewed(started?.Id ?? sub.Id, switchedInvoice, switchedPayment, started is null);
        }
        var trialEnding = sub.Status == SubscriptionStatus.Trialing && sub.TrialEnd is { } t && t <= op.Now;
        if (trialEnding && await SubscriptionPayments.DefaultMethodAsync(s, op, sub.CustomerId) is null)
        {
            var (_, finalPayment) = await CancelSubscription.EndAsync(s, op, sub, ReasonTrialEnded);
            return new Renewed(sub.Id, null, finalPayment, true);
        }

        var product = (await s.Catalog.GetProductAsync(op.Tenant, sub.ProductId))!;
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!;
        var plan = BillingPlan.Of(version);
        // A lowered quantity takes effect with the new period: its fees and its allowances.
        var before = sub;
        if (sub.ScheduledQuantity is not null) sub = await UpdateSubscriptionQuantity.ApplyScheduledAsync(s, op, sub, version);
        // Fewer prepaid units take effect with the new period too.
        if (sub.ScheduledPrepaid is not null) sub = await PrepaidUsage.ApplyScheduledAsync(s, op, sub);
        var closedStart = sub.CurrentPeriodStart ?? sub.CreatedAt;
        // The closed period's usage is priced by the version it ran on, so it is read before a migration switches.
        var usage = await UsageLinesAsync(s, op, sub, product, version, closedStart, end);
        var migrated = sub.MigrateToVersion is { } target && target > sub.ProductVersion;
        if (migrated) (sub, version, plan) = await SwitchProductVersion.ExecuteAsync(s, op, sub, version, sub.MigrateToVersion!.Value, end);
        var next = SubscriptionBilling.PeriodStartingAt(sub, end);
        var lines = new List<LineInput>(PeriodLines.InAdvance(plan.Fees(product), sub.Quantity, next.Start, next.End));
        lines.AddRange(PrepaidUsage.Lines(product, version, sub.Prepaid, next.Start, next.End));
        // A trial's usage is not billed: the trial is free.
        if (sub.Status != SubscriptionStatus.Trialing) lines.AddRange(usage);

        var renewed = sub with
        {
            CurrentPeriodStart = next.Start, CurrentPeriodEnd = next.End, UsageBilledThrough = op.Now, UpdatedAt = op.Now,
            Status = trialEnding ? SubscriptionStatus.Active : sub.Status,
        };
        string? invoiceId = null;
        ChargeInvoice.BegunCharge? charge = null;
        if (sub.Currency is { } currency && lines.Count > 0)
        {
            var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, sub, currency, SubscriptionBilling.ReasonCycle, next.Start, next.End, lines);
            if (!invoiced.IsOk) throw new InvalidOperationException($"Renewal invoice of {sub.Id}: {invoiced.Error!.Message}");
            var invoice = invoiced.Value!;
            invoiceId = invoice.Id;
            renewed = renewed with { LatestInvoiceId = invoice.Id };
            if (invoice.Status == InvoiceRules.Open)
            {
                var begun = await ChargeInvoice.BeginForNewInvoiceAsync(s, op, invoice);
                if (begun.IsOk) charge = begun.Value;
                else
                {
                    // No usable method: the attempt failed before it started; dunning takes it from here. Its
                    // hook reads the subscription from the database, so the new period is stored first, and
                    // what the hook changed (the status) is read back.
                    await s.Subscriptions.UpdateAsync(renewed);
                    await SubscriptionPayments.ChargeCouldNotBeginAsync(s, op, invoice.Id, begun.Error!.Code);
                    renewed = (await s.Subscriptions.GetAsync(op.Tenant, sub.Id))!;
                }
            }
        }
        await SubscriptionPayments.SaveAsync(s, op, before, renewed, EventTypes.SubscriptionRenewed);
        if (migrated)
            await EmitEvent.Execute(s, op, EventTypes.SubscriptionUpdated, "subscription", sub.Id, SubscriptionResource.From(renewed),
                new Dictionary<string, object?> { ["product_version"] = before.ProductVersion });
        return new Renewed(sub.Id, invoiceId, charge?.Payment.Id, false, charge);
    }

    /// <summary>
    /// The closed period's usage lines: for each of the product's usage prices whose feature's overage
    /// is billed, the overage the customer's balance resets recorded since the subscription last billed
    /// usage, priced by the model (rounded once per line). Balances are brought up to date first, so a
    /// reset that was due is recorded now. Pay-as-you-go features measured by a meter are billed from
    /// the meter's usage of the period instead, with late events of earlier periods as prior-period
    /// lines (<see cref="BillMeterUsage"/>).
    /// </summary>
    public static async Task<IReadOnlyList<LineInput>> UsageLinesAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductRecord product,
        ProductVersionRecord version, DateTimeOffset periodStart, DateTimeOffset periodEnd)
    {
        var priced = version.Prices.Where(p => p.Type == "usage" && p.Billing != "prepaid" && p.FeatureId is not null).ToList();
        if (priced.Count == 0) return [];
        // Pay-as-you-go features measured by meters are billed from the meters, not their balances (see BillMeterUsage).
        var metered = await BillMeterUsage.MeteredAsync(s, op, version, priced);
        await BringBalancesUpToDateAsync(s, op, sub.CustomerId);
        var fromBalances = priced.Where(p => !metered.ContainsKey(p.FeatureId!)).ToList();
        var lines = new List<LineInput>();
        if (fromBalances.Count > 0)
        {
            var from = sub.UsageBilledThrough ?? sub.CreatedAt;
            var overage = await s.Balances.ResetOverageAsync(op.Tenant, sub.CustomerId, [.. fromBalances.Select(p => p.FeatureId!)], from, op.Now);
            var charges = fromBalances.Where(p => overage.GetValueOrDefault(p.FeatureId!) > 0)
                .Select(p => new UsageCharge(product.Id, p.FeatureId!, $"{product.Name} — {p.FeatureId} usage", CatalogRules.ToUsagePrice(p)!,
                    Micro.ToDecimal(overage[p.FeatureId!])));
            lines.AddRange(PeriodLines.InArrears(charges, periodStart, periodEnd));
        }
        if (metered.Count > 0) lines.AddRange(await BillMeterUsage.LinesAsync(s, op, sub, product, priced, metered, periodStart, periodEnd));
        return lines;
    }

    /// <summary>Brings every balance of the customer up to date at the operation's time (period resets, expiries) and stores what changed.</summary>
    private static async Task BringBalancesUpToDateAsync(IStoreSession s, OperationContext op, string customerId)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customerId], [], forUpdate: true, op.Now);
        foreach (var live in book.All.ToList())
        {
            book.Get(live.Header.CustomerId, live.Header.FeatureId, live.Header.EntityId, op.Now);
            if (live.Touched) await BalanceWrites.SaveAsync(s, live, op.Now, "renewal", customerId);
        }
    }
}
