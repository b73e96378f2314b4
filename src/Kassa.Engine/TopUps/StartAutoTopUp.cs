using Kassa.Core.Errors;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;
using Kassa.Engine.TestClocks;

namespace Kassa.Engine.TopUps;

/// <summary>
/// The transaction that claims an auto top-up and begins its purchase: the customer row is locked (the
/// lock order of <c>POST /v1/subscribe</c>), the settings re-read locked and re-checked (enabled, armed,
/// no attempt in the last 10 minutes, the committed remaining still below the threshold), the attempt's
/// row inserted under its window's key — a second node, or a retry after a crash, that gets this far
/// conflicts on it and stops — and the one-time purchase started through the ordinary path
/// (<see cref="PurchaseOneTime"/>: invoice finalized and payment attempt written) with the customer's
/// default payment method. The charge happens after the commit (<see cref="RunAutoTopUps"/>), so a crash
/// at any point leaves either nothing or an attempt the payment reconcile worker completes.
/// </summary>
public static class StartAutoTopUp
{
    public enum Outcome
    {
        /// <summary>Nothing to do (claimed elsewhere, disarmed, within the window, not below the threshold any more).</summary>
        Nothing,
        /// <summary>The purchase's payment attempt is written: charge <see cref="Started.PaymentId"/> after the commit.</summary>
        Charging,
        /// <summary>The attempt ended in the transaction (failed before a charge, or nothing was left to pay).</summary>
        Settled,
        /// <summary>The purchase refused to start: roll back, and record the refusal in a new transaction.</summary>
        Refused,
    }

    /// <param name="Op">The operation at the customer's time (a test clock's, if any).</param>
    public sealed record Started(Outcome Outcome, OperationContext Op, AutoTopUpRun? Run, string? PaymentId = null, KassaError? Refusal = null);

    /// <param name="refusal">Set on the second try after the purchase refused to start: the claim is made again and recorded as failed with this error.</param>
    public static async Task<Started> Execute(IStoreSession s, OperationContext op, string customerId, string featureId, KassaError? refusal = null)
    {
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return new Started(Outcome.Nothing, op, null);
        op = await TestClockRules.ForCustomerAsync(s, op, customer.TestClockId);
        var topUp = await s.TopUps.GetForUpdateAsync(op.Tenant, customer.Id, featureId);
        if (topUp is null || !topUp.Enabled || !topUp.Armed) return new Started(Outcome.Nothing, op, null);
        if (topUp.LastAttemptAt is { } last && op.Now - last < AutoTopUpRules.Window) return new Started(Outcome.Nothing, op, null);
        // An attempt whose payment is still in flight (a crash, a provider outage) is completed by the payment
        // reconcile worker; beginning another meanwhile, in a later window, could buy twice.
        if (topUp.LastPaymentId is { } lastPayment && await s.Payments.GetPaymentAsync(op.Tenant, lastPayment) is { Status: Payments.PaymentStatuses.Processing })
            return new Started(Outcome.Nothing, op, null);
        if (!await IsBelowThresholdAsync(s, op, topUp)) return new Started(Outcome.Nothing, op, null);

        var window = AutoTopUpRules.WindowStart(op.Now);
        var run = new AutoTopUpRun(op.Tenant.AccountId, op.Tenant.Livemode, customer.Id, featureId, window,
            AutoTopUpRules.RunKey(op.Tenant, customer.Id, featureId, window), AutoTopUpRules.RunProcessing, null, null, null, null, op.Now, null);
        if (!await s.TopUps.InsertRunAsync(run)) return new Started(Outcome.Nothing, op, null);
        topUp = topUp with { LastAttemptAt = op.Now, LastInvoiceId = null, LastPaymentId = null };

        if (refusal is not null) return await SettleNowAsync(s, op, topUp, run, refusal.Code);
        var method = await s.Payments.DefaultMethodAsync(op.Tenant, customer.Id);
        if (method is null) return await SettleNowAsync(s, op, topUp, run, AutoTopUpRules.NoDefaultPaymentMethod);
        var product = await s.Catalog.GetProductAsync(op.Tenant, topUp.ProductId);
        var version = product is null ? null : await s.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version);
        // The product may have changed since the settings were stored: only a live one-time product is bought.
        if (product is null || version is null || product.ArchivedAt is not null || !BillingPlan.Of(version).IsOneTime)
            return await SettleNowAsync(s, op, topUp, run, ErrorCodes.InvalidState);

        var request = new Subscribe.Request(customer.Id, product.Id, topUp.Quantity, null, method.Id, null, null);
        var started = await PurchaseOneTime.StartAsync(s, op, request, customer, product, version, topUp.Quantity);
        if (!started.IsOk) return new Started(Outcome.Refused, op, run, Refusal: started.Error);
        var purchase = started.Value!;
        run = run with { SubscriptionId = purchase.Response.Subscription.Id, InvoiceId = purchase.Response.Invoice?.Id, PaymentId = purchase.PaymentId };
        topUp = topUp with { LastInvoiceId = run.InvoiceId, LastPaymentId = run.PaymentId };
        if (purchase.PaymentId is null)
        {
            // Nothing was left to charge (customer credit paid the invoice, or the product is free): granted already.
            await FinishAutoTopUp.SettleAsync(s, op, topUp, run, null);
            return new Started(Outcome.Settled, op, run);
        }
        await s.TopUps.UpdateRunAsync(run);
        await s.TopUps.UpdateStateAsync(topUp);
        return new Started(Outcome.Charging, op, run, purchase.PaymentId);
    }

    /// <summary>
    /// Whether the customer's committed remaining of the feature is below the threshold, read at the
    /// customer's time. A customer with no such balance, or an unlimited one, has nothing to top up.
    /// </summary>
    public static async Task<bool> IsBelowThresholdAsync(IStoreSession s, OperationContext op, AutoTopUpRecord topUp)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [topUp.CustomerId], [], forUpdate: false, op.Now, customersKnownToExist: true);
        return IsBelow(book, topUp, op.Now);
    }

    /// <summary>The threshold test on a loaded book (a balance whose reset cannot fit the bound is not topped up: its reads are refused too).</summary>
    public static bool IsBelow(BalanceBook book, AutoTopUpRecord topUp, DateTimeOffset now)
    {
        try
        {
            var live = book.Get(topUp.CustomerId, topUp.FeatureId, "", now);
            if (live is null || live.Header.IsFlag || live.Header.Unlimited) return false;
            return live.View(now).Remaining < Kassa.Core.Balances.Micro.ToDecimal(topUp.Threshold);
        }
        catch (Kassa.Core.Balances.BalanceOverflowException)
        {
            return false;
        }
    }

    private static async Task<Started> SettleNowAsync(IStoreSession s, OperationContext op, AutoTopUpRecord topUp, AutoTopUpRun run, string failureCode)
    {
        await FinishAutoTopUp.SettleAsync(s, op, topUp, run, failureCode);
        return new Started(Outcome.Settled, op, run);
    }
}
