using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.TestClocks;

namespace Kassa.Engine.TopUps;

/// <summary>
/// Settles an auto top-up attempt from its payment's outcome, in one transaction with the
/// <c>auto_top_up.succeeded</c> or <c>auto_top_up.failed</c> event and its audit record. A failure
/// disarms the top-up (<c>status: failed</c>): it is not tried again until the settings are set again or
/// the customer gets a new default payment method, so a refused card is never charged in a loop. A
/// success leaves it armed; the 10-minute window keeps the next purchase away.
/// </summary>
public static class FinishAutoTopUp
{
    /// <summary>
    /// Settles the attempt if its payment has settled (the request's own charge, or the payment reconcile
    /// worker after a crash). The settings and the attempt are re-read locked, so settling twice (two nodes)
    /// does nothing the second time. Returns whether this call settled it.
    /// </summary>
    public static async Task<bool> Execute(IStoreSession s, OperationContext op, AutoTopUpRun key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var topUp = await s.TopUps.GetForUpdateAsync(key.Tenant, key.CustomerId, key.FeatureId);
        var run = await s.TopUps.GetRunAsync(key.Tenant, key.CustomerId, key.FeatureId, key.WindowStart, forUpdate: true);
        if (topUp is null || run is not { Status: AutoTopUpRules.RunProcessing } || run.PaymentId is null) return false;
        var payment = await s.Payments.GetPaymentAsync(key.Tenant, run.PaymentId);
        if (payment is null || payment.Status == PaymentStatuses.Processing) return false;
        var customer = await s.Customers.GetAsync(key.Tenant, key.CustomerId);
        op = await TestClockRules.ForCustomerAsync(s, op, customer?.TestClockId);
        var failed = payment.Status is PaymentStatuses.Failed or PaymentStatuses.RequiresAction;
        await SettleAsync(s, op, topUp, run, failed ? payment.FailureCode ?? payment.Status : null);
        return true;
    }

    /// <summary>Records the attempt's end: <paramref name="failureCode"/> null is a success.</summary>
    public static async Task SettleAsync(IStoreSession s, OperationContext op, AutoTopUpRecord topUp, AutoTopUpRun run, string? failureCode)
    {
        var succeeded = failureCode is null;
        var settledRun = run with
        {
            Status = succeeded ? AutoTopUpRules.RunSucceeded : AutoTopUpRules.RunFailed, FailureCode = failureCode, SettledAt = op.Now,
        };
        await s.TopUps.UpdateRunAsync(settledRun);
        // A success keeps the state of a top-up set again meanwhile (armed); a failure disarms it.
        var state = topUp with
        {
            Armed = succeeded && topUp.Armed, LastFailureCode = failureCode, LastInvoiceId = run.InvoiceId, LastPaymentId = run.PaymentId,
        };
        await s.TopUps.UpdateStateAsync(state);
        var type = succeeded ? EventTypes.AutoTopUpSucceeded : EventTypes.AutoTopUpFailed;
        await RecordAudit.Execute(s, op, type, "customer", topUp.CustomerId,
            [$"{topUp.FeatureId}.auto_top_up.last_attempt_at", $"{topUp.FeatureId}.auto_top_up.status"]);
        await EmitEvent.Execute(s, op, type, "customer", topUp.CustomerId, AutoTopUpResource.From(state));
    }
}
