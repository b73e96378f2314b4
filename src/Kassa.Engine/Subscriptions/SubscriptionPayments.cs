using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// What a subscription does when its invoice's payment settles (called by the payments code inside
/// the transaction that records the outcome, for invoices with a <c>subscription_id</c>), and the
/// dunning schedule (spec §4.2): a failed renewal charge makes the subscription <c>past_due</c> and is
/// retried 1, 3, 5 and 7 days after the invoice was finalized; when the last retry fails too the
/// subscription is canceled with reason <c>payment_failed</c>. A successful retry restores <c>active</c>.
/// </summary>
public static class SubscriptionPayments
{
    /// <summary>Days after finalization at which a failed charge is tried again.</summary>
    public static readonly IReadOnlyList<int> RetryDays = [1, 3, 5, 7];

    public const string ReasonPaymentFailed = "payment_failed";

    /// <summary>The invoice is now paid: an incomplete subscription becomes active, a past-due one recovers.</summary>
    public static async Task OnInvoicePaidAsync(IStoreSession s, OperationContext op, InvoiceRecord invoice)
    {
        if (invoice.SubscriptionId is null) return;
        var sub = await s.Subscriptions.GetAsync(op.Tenant, invoice.SubscriptionId, forUpdate: true);
        if (sub is null) return;
        if (sub.Status == SubscriptionStatus.Incomplete) await ActivateAsync(s, op, sub);
        else if (sub.Status == SubscriptionStatus.PastDue)
            await SaveAsync(s, op, sub, sub with { Status = SubscriptionStatus.Active, UpdatedAt = op.Now }, EventTypes.SubscriptionUpdated);
    }

    /// <summary>A charge of the invoice failed or needs the customer (<paramref name="failureCode"/>): dunning decides what follows.</summary>
    public static async Task OnInvoicePaymentFailedAsync(IStoreSession s, OperationContext op, InvoiceRecord invoice, string failureCode)
    {
        if (invoice.SubscriptionId is null) return;
        var sub = await s.Subscriptions.GetAsync(op.Tenant, invoice.SubscriptionId, forUpdate: true);
        // A first invoice that fails leaves the subscription incomplete: the customer acts (checkout), no dunning.
        if (sub is null || !SubscriptionStatus.Renews(sub.Status)) return;
        var current = (await s.Invoices.GetAsync(op.Tenant, invoice.Id, forUpdate: true))!;
        if (current.Status != InvoiceRules.Open) return;
        var attempts = current.AttemptCount;
        if (attempts <= RetryDays.Count)
        {
            var baseTime = current.FinalizedAt ?? op.Now;
            await s.Invoices.UpdateAsync(current with { NextAttemptAt = baseTime.AddDays(RetryDays[Math.Max(0, attempts - 1)]) });
            if (sub.Status != SubscriptionStatus.PastDue)
                await SaveAsync(s, op, sub, sub with { Status = SubscriptionStatus.PastDue, UpdatedAt = op.Now }, EventTypes.SubscriptionPastDue);
            return;
        }
        await s.Invoices.UpdateAsync(current with { NextAttemptAt = null });
        await CancelSubscription.EndAsync(s, op, sub, ReasonPaymentFailed);
    }

    /// <summary>
    /// A charge that could not even begin (no usable payment method): it counts as a failed attempt of the
    /// invoice, and dunning decides what follows, exactly as for a charge the provider declined.
    /// </summary>
    public static async Task ChargeCouldNotBeginAsync(IStoreSession s, OperationContext op, string invoiceId, string failureCode)
    {
        var stored = (await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true))!;
        var failed = stored with { AttemptCount = stored.AttemptCount + 1 };
        await s.Invoices.UpdateAsync(failed);
        await OnInvoicePaymentFailedAsync(s, op, failed, failureCode);
    }

    /// <summary>Makes an incomplete subscription live: <c>trialing</c> while its trial runs, else <c>active</c>; grants its balances.</summary>
    public static async Task<SubscriptionRecord> ActivateAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub)
    {
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!;
        // A one-time purchase grants once and ends; it has no period to be active in.
        if (sub.OneTime) return await PurchaseOneTime.CompleteAsync(s, op, sub, version);
        var status = sub.TrialEnd is { } end && end > op.Now ? SubscriptionStatus.Trialing : SubscriptionStatus.Active;
        var after = sub with { Status = status, UpdatedAt = op.Now };
        // Grants are checked against the quantity bound when the product is created; an overflow here
        // would mean the plan changed underneath, which versioning rules out.
        if (await AttachProduct.GrantAsync(s, op, sub.CustomerId, sub.Id, version, sub.Quantity) is { } error)
            throw new InvalidOperationException($"Granting subscription {sub.Id}'s balances failed: {error.Message}");
        if (await PrepaidUsage.GrantAsync(s, op, sub.CustomerId, sub.Id, sub.Prepaid) is { } prepaidError)
            throw new InvalidOperationException($"Granting subscription {sub.Id}'s prepaid units failed: {prepaidError.Message}");
        await SaveAsync(s, op, sub, after, EventTypes.SubscriptionActivated);
        return after;
    }

    /// <summary>The customer's default payment method id, or null.</summary>
    public static async Task<string?> DefaultMethodAsync(IStoreSession s, OperationContext op, string customerId) =>
        (await s.Payments.DefaultMethodAsync(op.Tenant, customerId))?.Id;

    /// <summary>Stores a subscription change with its audit record and event (the status before as previous attributes).</summary>
    public static async Task SaveAsync(IStoreSession s, OperationContext op, SubscriptionRecord before, SubscriptionRecord after, string eventType)
    {
        await s.Subscriptions.UpdateAsync(after);
        await RecordAudit.Execute(s, op, eventType, "subscription", after.Id, ["status"]);
        await EmitEvent.Execute(s, op, eventType, "subscription", after.Id, SubscriptionResource.From(after),
            new Dictionary<string, object?> { ["status"] = before.Status });
    }
}
