using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Payments;

/// <summary>What became of a payment attempt once the provider answered (or the attempt was found already settled).</summary>
/// <param name="Status"><c>succeeded</c>, <c>failed</c> or <c>requires_action</c>.</param>
public sealed record PaymentOutcome(string PaymentId, string Status, string? FailureCode, string? FailureMessage, string? InvoiceId, string? InvoiceStatus);

/// <summary>
/// Charges an open invoice's <c>amount_due</c> in two steps so a crash can never charge twice:
/// <see cref="BeginAsync(IStoreSession, OperationContext, string, string?)"/> writes the payment attempt inside the caller's transaction; once that has
/// committed, <see cref="CompleteAsync"/> calls the provider with the attempt's id as idempotency key and
/// records the outcome in a new transaction. CONTRACT STUB: implemented by the payments work.
/// </summary>
public static class ChargeInvoice
{
    /// <summary>In the caller's transaction: checks the invoice is open with something due and the method (given, or the customer's default) is usable, writes the attempt (<c>processing</c>) and returns its id.</summary>
    public static Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string invoiceId, string? paymentMethodId) =>
        BeginAsync(s, op, invoiceId, paymentMethodId, requestKey: null);

    /// <summary>
    /// As <see cref="BeginAsync(IStoreSession, OperationContext, string, string?)"/>, remembering the request's
    /// Idempotency-Key on the attempt: a retry of a request whose first run began an attempt and then
    /// died (so no answer was stored under the key) finds that attempt instead of beginning another.
    /// </summary>
    public static async Task<Result<string>> BeginAsync(IStoreSession s, OperationContext op, string invoiceId, string? paymentMethodId, string? requestKey)
    {
        if (requestKey is not null && await s.Payments.FindPaymentByRequestKeyAsync(op.Tenant, requestKey) is { } earlier)
        {
            return earlier.InvoiceId == invoiceId
                ? earlier.Id
                : new KassaError(ErrorCodes.IdempotencyKeyReused, "This Idempotency-Key already began a payment of another invoice");
        }
        // The invoice lock serialises concurrent charges of one invoice: the second sees the first's attempt.
        var invoice = await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        if (invoice is null) return KassaError.NotFound("invoice", invoiceId);
        if (invoice.Status != InvoiceRules.Open) return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; only an open invoice can be paid");
        if (invoice.AmountDue <= 0) return KassaError.InvalidState($"Invoice '{invoice.Id}' has nothing due");
        if (await s.Payments.ProcessingPaymentOfInvoiceAsync(op.Tenant, invoice.Id) is { } inFlight)
            return KassaError.InvalidState($"Invoice '{invoice.Id}' has a payment in progress ('{inFlight.Id}')");

        PaymentMethodRecord? method;
        if (paymentMethodId is not null)
        {
            method = await s.Payments.GetMethodAsync(op.Tenant, paymentMethodId);
            if (method is null || method.CustomerId != invoice.CustomerId || method.DetachedAt is not null)
                return new KassaError(ErrorCodes.ResourceMissing, $"No such payment_method of customer '{invoice.CustomerId}': '{paymentMethodId}'", "payment_method_id");
        }
        else
        {
            method = await s.Payments.DefaultMethodAsync(op.Tenant, invoice.CustomerId);
            if (method is null)
                return new KassaError(ErrorCodes.ParameterMissing, $"Customer '{invoice.CustomerId}' has no default payment method; give payment_method_id", "payment_method_id");
        }

        return (await WriteAttemptAsync(s, op, invoice.Id, invoice.CustomerId, invoice.AmountDue, invoice.Currency, invoice.Description ?? $"Invoice {invoice.Number}",
            method, requestKey)).Id;
    }

    /// <summary>A charge attempt written in a transaction, with what completing it needs, so a batch need not read it back.</summary>
    public sealed record BegunCharge(OperationContext Op, PaymentRecord Payment, PaymentMethodRecord Method);

    /// <summary>
    /// <see cref="BeginAsync(IStoreSession, OperationContext, string, string?)"/> with the customer's default
    /// method, for an invoice this very transaction made and finalized (a renewal's): no other transaction
    /// can see it yet, let alone hold it or have an attempt on it, so neither is read back — two statements
    /// fewer on the renewal path.
    /// </summary>
    public static async Task<Result<BegunCharge>> BeginForNewInvoiceAsync(IStoreSession s, OperationContext op, InvoiceResource invoice)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        if (invoice.Status != InvoiceRules.Open) return KassaError.InvalidState($"Invoice '{invoice.Id}' is {invoice.Status}; only an open invoice can be paid");
        if (invoice.AmountDue <= 0) return KassaError.InvalidState($"Invoice '{invoice.Id}' has nothing due");
        var method = await s.Payments.DefaultMethodAsync(op.Tenant, invoice.CustomerId);
        if (method is null)
            return new KassaError(ErrorCodes.ParameterMissing, $"Customer '{invoice.CustomerId}' has no default payment method; give payment_method_id", "payment_method_id");
        var payment = await WriteAttemptAsync(s, op, invoice.Id, invoice.CustomerId, invoice.AmountDue, invoice.Currency, invoice.Description ?? $"Invoice {invoice.Number}",
            method, requestKey: null);
        return new BegunCharge(op, payment, method);
    }

    private static async Task<PaymentRecord> WriteAttemptAsync(IStoreSession s, OperationContext op, string invoiceId, string customerId, long amount, string currency,
        string description, PaymentMethodRecord method, string? requestKey)
    {
        var payment = new PaymentRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Payment), customerId, invoiceId,
            amount, currency, PaymentStatuses.Processing, null, null, method.Id, method.Provider, null, 0, description, requestKey, op.Now, null);
        await s.Payments.InsertPaymentAsync(payment);
        await RecordAudit.Execute(s, op, "payment.created", "payment", payment.Id, ["invoice_id", "amount", "payment_method_id"]);
        return payment;
    }

    /// <summary>After the attempt committed: calls the provider and records the outcome. Calling it again for a settled attempt answers the stored outcome.</summary>
    public static async Task<Result<PaymentOutcome>> CompleteAsync(IKassaStore store, PaymentProviders providers, OperationContext op, string paymentId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(providers);
        var (payment, method) = await store.ReadAsync(async s =>
        {
            var p = await s.Payments.GetPaymentAsync(op.Tenant, paymentId);
            return (p, p is null ? null : await s.Payments.GetMethodAsync(op.Tenant, p.PaymentMethodId));
        }, ct);
        if (payment is null) return KassaError.NotFound("payment", paymentId);
        if (payment.Status != PaymentStatuses.Processing) return await store.ReadAsync(s => OutcomeAsync(s, op.Tenant, payment), ct);

        // The attempt's id is the provider's idempotency key: however often this runs for one attempt
        // (a retry, the reconcile worker on another node), the provider charges once and answers alike.
        var (charge, unknown) = await CallProviderAsync(providers, op, payment, method, ct);
        // The outcome is unknown (a timeout: the charge may have happened). Nothing is recorded; the
        // attempt stays processing and the reconcile worker completes it with the same key.
        if (charge is null) return new PaymentOutcome(payment.Id, PaymentStatuses.Processing, null, unknown, payment.InvoiceId, null);
        return await store.WriteAsync(s => RecordOutcomeAsync(s, op, payment.Id, payment.InvoiceId, charge), r => r.IsOk, CancellationToken.None);
    }

    /// <summary>
    /// Charges an attempt with the provider named on its row, the attempt's id as idempotency key. A null
    /// charge means the outcome is unknown (the provider timed out or is not configured any more): the
    /// caller records nothing, so the attempt stays <c>processing</c> for the reconcile worker, with
    /// <c>Unknown</c> saying why. The crash-test fault point sits right after the provider answered.
    /// </summary>
    internal static async Task<(ChargeResult? Charge, string? Unknown)> CallProviderAsync(PaymentProviders providers, OperationContext op, PaymentRecord payment,
        PaymentMethodRecord? method, CancellationToken ct)
    {
        ChargeResult charge;
        // Counted while the provider is being asked: a rising gauge means a slow or hanging provider.
        KassaMeters.PaymentAttemptsInFlight.Add(1);
        try
        {
            var provider = await providers.NamedAsync(op.Tenant, payment.Provider, ct);
            charge = provider is null || method is null
                ? new ChargeResult(ChargeStatus.Failed, "", "provider_unavailable", $"No '{payment.Provider}' provider serves this mode")
                : await provider.ChargeAsync(method.ProviderToken, payment.Amount, payment.Currency, payment.Id, ct);
        }
        catch (ProviderUnavailableException e)
        {
            return (null, e.Message);
        }
        finally
        {
            KassaMeters.PaymentAttemptsInFlight.Add(-1);
        }
        Faults.AfterProviderCharge(op.Tenant);
        return (charge, null);
    }

    /// <summary>
    /// <see cref="CompleteAsync"/> for many attempts at once (the renewal run): the attempts are read in one
    /// transaction, the provider is called for each still processing (with its id as idempotency key, as
    /// always), and every outcome is recorded in one transaction. If that transaction fails, each attempt
    /// is completed alone — the provider answers a repeated key with the first outcome, so nothing is
    /// charged twice either way. Returns how many were recorded as succeeded.
    /// </summary>
    public static async Task<int> CompleteManyAsync(IKassaStore store, PaymentProviders providers, IReadOnlyList<(OperationContext Op, string PaymentId)> attempts,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(providers);
        if (attempts.Count == 0) return 0;
        var loaded = await store.ReadAsync(async s =>
        {
            var list = new List<(OperationContext Op, PaymentRecord? Payment, PaymentMethodRecord? Method)>(attempts.Count);
            foreach (var (op, id) in attempts)
            {
                var p = await s.Payments.GetPaymentAsync(op.Tenant, id);
                list.Add((op, p, p is null ? null : await s.Payments.GetMethodAsync(op.Tenant, p.PaymentMethodId)));
            }
            return list;
        }, ct);
        return await CompleteManyAsync(store, providers, loaded, ct);
    }

    /// <summary>
    /// <see cref="CompleteManyAsync(IKassaStore, PaymentProviders, IReadOnlyList{ValueTuple{OperationContext, string}}, CancellationToken)"/>
    /// for attempts whose records the caller still holds from the transaction that wrote them (a renewal
    /// batch): they are not read again. Each is still settled only if its row, re-read locked in the
    /// outcome transaction, is still <c>processing</c>.
    /// </summary>
    public static Task<int> CompleteManyAsync(IKassaStore store, PaymentProviders providers, IReadOnlyList<BegunCharge> begun, CancellationToken ct) =>
        begun.Count == 0 ? Task.FromResult(0)
        : CompleteManyAsync(store, providers, [.. begun.Select(b => (b.Op, (PaymentRecord?)b.Payment, (PaymentMethodRecord?)b.Method))], ct);

    private static async Task<int> CompleteManyAsync(IKassaStore store, PaymentProviders providers,
        IReadOnlyList<(OperationContext Op, PaymentRecord? Payment, PaymentMethodRecord? Method)> loaded, CancellationToken ct)
    {
        var charges = new List<(OperationContext Op, PaymentRecord Payment, ChargeResult Charge)>(loaded.Count);
        foreach (var (op, payment, method) in loaded)
        {
            if (payment is not { Status: PaymentStatuses.Processing }) continue;
            // Outcome unknown: left processing for the reconcile worker, as in CompleteAsync.
            if ((await CallProviderAsync(providers, op, payment, method, ct)).Charge is { } charge) charges.Add((op, payment, charge));
        }
        try
        {
            return await store.WriteAsync(async s =>
            {
                var succeeded = 0;
                foreach (var (op, payment, charge) in charges)
                {
                    var outcome = await RecordOutcomeAsync(s, op, payment.Id, payment.InvoiceId, charge);
                    if (outcome is { IsOk: true, Value.Status: PaymentStatuses.Succeeded }) succeeded++;
                }
                return succeeded;
            }, ct: CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var succeeded = 0;
            foreach (var (op, payment, charge) in charges)
            {
                var outcome = await store.WriteAsync(s => RecordOutcomeAsync(s, op, payment.Id, payment.InvoiceId, charge), r => r.IsOk, CancellationToken.None);
                if (outcome is { IsOk: true, Value.Status: PaymentStatuses.Succeeded }) succeeded++;
            }
            return succeeded;
        }
    }

    /// <summary>
    /// The outcome transaction: re-reads the attempt locked (invoice first, then payment: the lock order
    /// of <see cref="BeginAsync(IStoreSession, OperationContext, string, string?, string?)"/>) and does nothing when someone else settled it already.
    /// </summary>
    internal static async Task<Result<PaymentOutcome>> RecordOutcomeAsync(IStoreSession s, OperationContext op, string paymentId, string? invoiceId, ChargeResult charge)
    {
        var invoice = invoiceId is null ? null : await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true);
        var payment = (await s.Payments.GetPaymentAsync(op.Tenant, paymentId, forUpdate: true))!;
        if (payment.Status != PaymentStatuses.Processing) return await OutcomeAsync(s, op.Tenant, payment);

        var status = charge.Status switch
        {
            ChargeStatus.Succeeded => PaymentStatuses.Succeeded,
            ChargeStatus.RequiresAction => PaymentStatuses.RequiresAction,
            _ => PaymentStatuses.Failed,
        };
        var settled = payment with
        {
            Status = status, FailureCode = charge.FailureCode, FailureMessage = charge.FailureMessage,
            ProviderChargeId = charge.ProviderChargeId.Length == 0 ? null : charge.ProviderChargeId, SettledAt = op.Now,
        };
        await s.Payments.UpdatePaymentAsync(settled);
        var resource = PaymentResource.From(settled);
        await RecordAudit.Execute(s, op, status == PaymentStatuses.Succeeded ? EventTypes.PaymentSucceeded : "payment." + status, "payment", payment.Id,
            ["status", "failure_code", "provider_charge_id"]);

        if (invoice is not null) invoice = invoice with { AttemptCount = invoice.AttemptCount + 1 };
        if (status == PaymentStatuses.Succeeded)
        {
            if (invoice is { Status: InvoiceRules.Open } open && open.AmountDue <= settled.Amount)
            {
                invoice = await MarkInvoicePaid.Execute(s, op, open, settled.Amount);
                await PostJournalEntry.Execute(s, op, Postings.PaymentSucceeded(settled.Id, settled.Currency, settled.Amount),
                    $"Payment {settled.Id} of invoice {open.Number}", settled.CustomerId);
            }
            else
            {
                // The invoice left receivables while the charge was in flight (voided, say): the money
                // was still collected, and is owed back to the customer as credit, never lost.
                if (invoice is not null) await s.Invoices.UpdateAsync(invoice);
                await PostJournalEntry.Execute(s, op, Postings.PaymentToCustomerCredit(settled.Id, settled.Currency, settled.Amount),
                    $"Payment {settled.Id} without an open invoice, held as customer credit", settled.CustomerId);
            }
            await EmitEvent.Execute(s, op, EventTypes.PaymentSucceeded, "payment", settled.Id, resource);
        }
        else
        {
            if (status == PaymentStatuses.Failed) await EmitEvent.Execute(s, op, EventTypes.PaymentFailed, "payment", settled.Id, resource);
            if (invoice is not null)
            {
                await s.Invoices.UpdateAsync(invoice);
                if (invoice.Status == InvoiceRules.Open)
                {
                    await EmitEvent.Execute(s, op, EventTypes.InvoicePaymentFailed, "invoice", invoice.Id, await InvoiceRules.ResourceAsync(s, op.Tenant, invoice));
                    if (invoice.SubscriptionId is not null)
                        await SubscriptionPayments.OnInvoicePaymentFailedAsync(s, op, invoice, settled.FailureCode ?? status);
                }
            }
        }
        return new PaymentOutcome(settled.Id, status, settled.FailureCode, settled.FailureMessage, invoice?.Id, invoice?.Status);
    }

    private static async Task<Result<PaymentOutcome>> OutcomeAsync(IStoreSession s, Tenant tenant, PaymentRecord p)
    {
        var invoice = p.InvoiceId is null ? null : await s.Invoices.GetAsync(tenant, p.InvoiceId);
        return new PaymentOutcome(p.Id, p.Status, p.FailureCode, p.FailureMessage, invoice?.Id, invoice?.Status);
    }
}
