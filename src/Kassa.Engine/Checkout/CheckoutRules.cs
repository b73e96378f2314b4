using System.Security.Cryptography;
using Kassa.Core.Ids;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Checkout;

/// <summary>
/// What every checkout use case shares: the statuses and modes, making and binding a session, and the
/// two ways a session ends — <see cref="CompleteAsync"/> (once, with <c>checkout.completed</c> in the
/// transaction of the effect that completes it) and <see cref="ExpireAsync"/>. Every caller holds the
/// session row locked, so two tabs, two posts or two nodes can end a session only once.
/// </summary>
public static class CheckoutRules
{
    public const string Open = "open";
    public const string Complete = "complete";
    public const string Expired = "expired";

    public const string ModeSubscription = "subscription";
    public const string ModePayment = "payment";
    public const string ModeSetup = "setup";

    public static readonly IReadOnlyList<string> Modes = [ModeSubscription, ModePayment, ModeSetup];

    /// <summary>A session's statuses, as the API shows them.</summary>
    public static readonly IReadOnlyList<string> Statuses = [Open, Complete, Expired];

    /// <summary>A session lives 24 hours unless told otherwise (Stripe's default), never longer, and never less than 30 minutes.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(24);
    public static readonly TimeSpan LifetimeMax = TimeSpan.FromHours(24);
    public static readonly TimeSpan LifetimeMin = TimeSpan.FromMinutes(30);

    /// <summary>Redirect addresses are absolute http(s) URLs of at most this length.</summary>
    public const int UrlLengthMax = 2048;

    /// <summary>A new open session (not stored yet). Its form nonce is 32 random bytes, hex.</summary>
    public static CheckoutSessionRecord New(OperationContext op, string customerId, string mode, string? productId, long? quantity, long amountTotal,
        string? currency, string? description, string? invoiceId, string? subscriptionId, string? successUrl, string? cancelUrl, DateTimeOffset expiresAt) =>
        new(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.CheckoutSession), customerId, mode, Open, productId, quantity, amountTotal, currency,
            description, invoiceId, subscriptionId, null, null, null, null, successUrl, cancelUrl, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            expiresAt, null, op.Now);

    /// <summary>
    /// The open session that pays <paramref name="invoice"/> (or, without an invoice, starts the trial of
    /// <paramref name="subscriptionId"/>): the one already open, or a new one. One session per invoice, so a
    /// second subscribe retry sends the customer to the same page. <paramref name="pendingPaymentId"/> names a
    /// charge of the saved card that answered 3-D Secure: the page then offers to confirm it first.
    /// </summary>
    public static async Task<CheckoutSessionRecord> BindAsync(IStoreSession s, OperationContext op, string mode, string customerId, string subscriptionId,
        InvoiceResource? invoice, string? productId, long? quantity, string? successUrl, string? cancelUrl, string? pendingPaymentId = null)
    {
        var existing = invoice is not null
            ? await s.Checkout.OpenForInvoiceAsync(op.Tenant, invoice.Id)
            : await s.Checkout.OpenForSubscriptionAsync(op.Tenant, subscriptionId);
        if (existing is not null && existing.ExpiresAt > op.Now)
        {
            existing = (await s.Checkout.GetAsync(op.Tenant, existing.Id, forUpdate: true))!;
            if (existing.Status == Open)
            {
                if (pendingPaymentId is not null && existing.PendingPaymentId != pendingPaymentId)
                {
                    existing = existing with { PendingPaymentId = pendingPaymentId, LastFailureCode = null };
                    await s.Checkout.UpdateAsync(existing);
                }
                return existing;
            }
        }
        else if (existing is not null)
        {
            await ExpireAsync(s, op, (await s.Checkout.GetAsync(op.Tenant, existing.Id, forUpdate: true))!);
        }
        // Redirects the subscribe call was given are kept only when they are absolute http(s) URLs: the page
        // never sends a browser to anything else (without them the page itself says the payment is done).
        var session = New(op, customerId, mode, productId, quantity, invoice?.AmountDue ?? 0, invoice?.Currency, invoice?.Description, invoice?.Id,
            subscriptionId, Redirect(successUrl), Redirect(cancelUrl), op.Now + DefaultLifetime) with { PendingPaymentId = pendingPaymentId };
        await s.Checkout.InsertAsync(session);
        await RecordAudit.Execute(s, op, "checkout_session.created", "checkout_session", session.Id, ["customer_id", "mode", "invoice_id", "subscription_id"]);
        return session;
    }

    /// <summary>
    /// Ends an open session as paid / saved, in the caller's transaction (the one that records the payment
    /// or saves the card), with its audit record and <c>checkout.completed</c>.
    /// </summary>
    public static async Task<CheckoutSessionRecord> CompleteAsync(IStoreSession s, OperationContext op, CheckoutSessionRecord locked, string? paymentId,
        string? paymentMethodId)
    {
        var done = locked with
        {
            Status = Complete, CompletedAt = op.Now, PaymentId = paymentId ?? locked.PaymentId, PaymentMethodId = paymentMethodId ?? locked.PaymentMethodId,
            PendingPaymentId = null, LastFailureCode = null,
        };
        await s.Checkout.UpdateAsync(done);
        await RecordAudit.Execute(s, op, EventTypes.CheckoutCompleted, "checkout_session", done.Id, ["status", "payment_id", "payment_method_id"]);
        await EmitEvent.Execute(s, op, EventTypes.CheckoutCompleted, "checkout_session", done.Id, CheckoutSessionResource.From(done),
            new Dictionary<string, object?> { ["status"] = locked.Status });
        return done;
    }

    /// <summary>
    /// Ends an open session unpaid: it becomes <c>expired</c> (<c>checkout.expired</c>); the incomplete
    /// subscription it was made for becomes <c>expired</c> and its unpaid invoice is voided through
    /// <see cref="VoidInvoice"/>, whose entry reverses the finalize entry exactly. A subscription that is
    /// already live (an upgrade waiting for its payment) is left to dunning. A charge still in flight holds
    /// the expiry back (false): the next read or sweep decides once it has settled.
    /// </summary>
    public static async Task<bool> ExpireAsync(IStoreSession s, OperationContext op, CheckoutSessionRecord locked)
    {
        if (locked.Status != Open) return false;
        if (locked.InvoiceId is { } invoiceId && await s.Payments.ProcessingPaymentOfInvoiceAsync(op.Tenant, invoiceId) is not null) return false;
        if (locked.SubscriptionId is { } subId && await s.Subscriptions.GetAsync(op.Tenant, subId, forUpdate: true) is { Status: SubscriptionStatus.Incomplete } sub)
        {
            if (sub.LatestInvoiceId is { } latest && await s.Invoices.GetAsync(op.Tenant, latest) is { Status: InvoiceRules.Open or InvoiceRules.Draft })
            {
                var voided = await VoidInvoice.Execute(s, op, latest);
                if (!voided.IsOk) throw new InvalidOperationException($"Voiding {latest} of expiring checkout {locked.Id}: {voided.Error!.Message}");
            }
            var ended = sub with
            {
                Status = SubscriptionStatus.Expired, EndedAt = op.Now, CancelReason = ExpireIncompleteSubscription.ReasonIncompleteExpired, UpdatedAt = op.Now,
            };
            await SubscriptionPayments.SaveAsync(s, op, sub, ended, EventTypes.SubscriptionUpdated);
        }
        else if (locked.SubscriptionId is null && locked.InvoiceId is { } own && await s.Invoices.GetAsync(op.Tenant, own) is { Status: InvoiceRules.Open })
        {
            // A payment-mode session's own invoice (made for it, like POST /v1/payments makes one) leaves receivables with it.
            var voided = await VoidInvoice.Execute(s, op, own);
            if (!voided.IsOk) throw new InvalidOperationException($"Voiding {own} of expiring checkout {locked.Id}: {voided.Error!.Message}");
        }
        var expired = locked with { Status = Expired, PendingPaymentId = null };
        await s.Checkout.UpdateAsync(expired);
        await RecordAudit.Execute(s, op, EventTypes.CheckoutExpired, "checkout_session", expired.Id, ["status"]);
        await EmitEvent.Execute(s, op, EventTypes.CheckoutExpired, "checkout_session", expired.Id, CheckoutSessionResource.From(expired),
            new Dictionary<string, object?> { ["status"] = Open });
        return true;
    }

    /// <summary>
    /// Brings an open session up to date on any read, in a write transaction with the row locked: past its
    /// expiry it expires; if its invoice was paid some other way meanwhile (the reconcile worker finishing an
    /// attempt whose answer was lost, <c>POST /v1/invoices/{id}/pay</c>) it completes with that payment; if its
    /// invoice was voided or marked uncollectible meanwhile it expires.
    /// </summary>
    public static async Task<CheckoutSessionRecord> RefreshAsync(IStoreSession s, OperationContext op, CheckoutSessionRecord session)
    {
        if (session.Status != Open) return session;
        if (session.InvoiceId is { } invoiceId && await s.Invoices.GetAsync(op.Tenant, invoiceId) is { Status: InvoiceRules.Paid })
        {
            var locked = (await s.Checkout.GetAsync(op.Tenant, session.Id, forUpdate: true))!;
            if (locked.Status != Open) return locked;
            var paidBy = await s.Payments.PaymentThatPaidAsync(op.Tenant, invoiceId);
            return await CompleteAsync(s, op, locked, paidBy?.Id, paidBy?.PaymentMethodId);
        }
        // An invoice voided (or written off) some other way can no longer be paid here: the session ends with it.
        var unpayable = session.InvoiceId is { } other && await s.Invoices.GetAsync(op.Tenant, other) is { Status: InvoiceRules.Void or InvoiceRules.Uncollectible };
        if (session.ExpiresAt <= op.Now || unpayable)
        {
            var locked = (await s.Checkout.GetAsync(op.Tenant, session.Id, forUpdate: true))!;
            await ExpireAsync(s, op, locked);
            return (await s.Checkout.GetAsync(op.Tenant, session.Id))!;
        }
        return session;
    }

    private static string? Redirect(string? url) => url is not null && UrlProblem(url) is null ? url : null;

    /// <summary>An absolute http(s) URL for a redirect, or why not.</summary>
    public static string? UrlProblem(string url)
    {
        if (url.Length > UrlLengthMax) return $"must be at most {UrlLengthMax} characters";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            return "must be an absolute http or https URL";
        return null;
    }

    /// <summary>Where a completed session sends the customer: its success URL with <c>session_id</c> appended (Stripe's <c>{CHECKOUT_SESSION_ID}</c>).</summary>
    public static string? SuccessRedirect(CheckoutSessionRecord session) =>
        session.SuccessUrl is not { } url ? null
        : url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "session_id=" + Uri.EscapeDataString(session.Id);
}
