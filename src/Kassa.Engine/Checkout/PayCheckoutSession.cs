using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Kassa.Core.Errors;
using Kassa.Core.Payments;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Checkout;

/// <summary>
/// The checkout page's card form (<c>POST /checkout/{id}/pay</c>), for the sandbox. Three steps, so a crash
/// can never charge twice: (1) in one transaction with the session row locked, the card is saved through
/// <see cref="AttachPaymentMethod"/> (the same rules and refusals as the API) and the invoice's charge is begun
/// through <see cref="ChargeInvoice"/> (its attempt row written); (2) after the commit the provider is called
/// with the attempt's id as idempotency key; (3) the outcome is recorded by ChargeInvoice's own outcome
/// transaction, in which a successful charge also completes the session (<c>checkout.completed</c>). A second
/// post while the first is in flight finds the charge in progress (409); one after it finds the session
/// complete. Setup mode and a trial that needs a card complete in step 1 (no charge).
/// </summary>
public static class PayCheckoutSession
{
    /// <summary>The posted form, as text: the page parses it, so a malformed field is a message next to it, never a 500.</summary>
    /// <param name="UseSavedCard">Charge the card saved on this session again (the "Try again" after a refused 3-D Secure step).</param>
    public sealed record Form(string? Nonce, string? Number, string? ExpMonth, string? ExpYear, string? Cvc, bool UseSavedCard = false);

    /// <summary>The session after the post, and why the charge did not pay when it did not (<c>card_declined</c>, <c>authentication_failed</c>…).</summary>
    public sealed record Done(CheckoutSessionRecord Session, string? FailureCode);

    private sealed record Begun(CheckoutSessionRecord Session, PaymentRecord? Payment, PaymentMethodRecord? Method);

    /// <summary>The longest text accepted in a card field; anything longer is refused before any work.</summary>
    public const int FieldLengthMax = 40;

    public static async Task<Result<Done>> Execute(IKassaStore store, PaymentProviders providers, OperationContext op, string sessionId, Form form, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(form);
        var card = form.UseSavedCard ? null : CheckCard(form, op.Now);
        if (card is { IsOk: false }) return card.Value.Error!;
        var tenant = op.Tenant;
        var begun = await store.WriteAsync<Result<Begun>>(async s =>
        {
            var session = await s.Checkout.GetAsync(tenant, sessionId, forUpdate: true);
            if (session is null) return KassaError.NotFound("checkout_session", sessionId);
            if (!NonceMatches(session, form.Nonce)) return FormRejected();
            session = await CheckoutRules.RefreshAsync(s, op, session);
            if (session.Status != CheckoutRules.Open) return new Begun(session, null, null);

            PaymentMethodRecord? method;
            if (card is { } entered)
            {
                var attached = await AttachPaymentMethod.Execute(s, op, providers, new AttachPaymentMethod.Request(session.CustomerId, entered.Value), ct);
                if (!attached.IsOk) return FieldOf(attached.Error!);
                method = await s.Payments.GetMethodAsync(tenant, attached.Value.Id);
            }
            else
            {
                method = session.PaymentMethodId is { } saved ? await s.Payments.GetMethodAsync(tenant, saved) : null;
                if (method is null || method.DetachedAt is not null || method.CustomerId != session.CustomerId)
                    return KassaError.Validation("number", "is required");
            }
            // A subscription renews on the card it was bought with, and setup mode exists to make a card the default.
            if (session.Mode != CheckoutRules.ModePayment && !method!.IsDefault)
            {
                var made = await SetDefaultPaymentMethod.Execute(s, op, session.CustomerId, new SetDefaultPaymentMethod.Request(method.Id));
                if (!made.IsOk) return made.Error!;
            }
            if (session.Mode == CheckoutRules.ModeSetup) return new Begun(await CheckoutRules.CompleteAsync(s, op, session, null, method!.Id), null, method);
            if (session.InvoiceId is null)
            {
                // A trial that needs a card: the card is on file now, so the trial starts (no charge).
                var sub = session.SubscriptionId is { } subId ? await s.Subscriptions.GetAsync(tenant, subId, forUpdate: true) : null;
                if (sub is not { Status: SubscriptionStatus.Incomplete })
                    return KassaError.InvalidState($"Subscription '{session.SubscriptionId}' no longer waits for a card ({sub?.Status ?? "missing"})");
                await SubscriptionPayments.ActivateAsync(s, op, sub);
                return new Begun(await CheckoutRules.CompleteAsync(s, op, session, null, method!.Id), null, method);
            }
            var attempt = await ChargeInvoice.BeginAsync(s, op, session.InvoiceId, method!.Id);
            if (!attempt.IsOk) return attempt.Error!;
            session = session with { PaymentMethodId = method.Id, PendingPaymentId = null, LastFailureCode = null };
            await s.Checkout.UpdateAsync(session);
            return new Begun(session, await s.Payments.GetPaymentAsync(tenant, attempt.Value), method);
        }, commitIf: r => r.IsOk, ct: CancellationToken.None);
        if (!begun.IsOk) return begun.Error!;
        if (begun.Value is not { Payment: { } payment, Method: { } paidWith }) return new Done(begun.Value.Session, null);

        var (charge, _) = await ChargeInvoice.CallProviderAsync(providers, op, payment, paidWith, CancellationToken.None);
        // Outcome unknown: the attempt stays processing and the reconcile worker completes it; the page says a payment is in progress.
        if (charge is null) return KassaError.InvalidState($"Payment '{payment.Id}' is in progress");
        return await RecordAsync(store, op, sessionId, payment, charge);
    }

    /// <summary>
    /// The outcome transaction of a charge begun on the page (also of a 3-D Secure confirmation): the session is
    /// locked first (the lock order of every checkout transaction), then <see cref="ChargeInvoice"/> records the
    /// outcome; a success completes the session in the same transaction, 3-D Secure leaves the attempt waiting for
    /// the customer, a failure is remembered for the page to explain.
    /// </summary>
    internal static Task<Result<Done>> RecordAsync(IKassaStore store, OperationContext op, string sessionId, PaymentRecord payment, ChargeResult charge) =>
        store.WriteAsync<Result<Done>>(async s =>
        {
            var session = (await s.Checkout.GetAsync(op.Tenant, sessionId, forUpdate: true))!;
            var outcome = await ChargeInvoice.RecordOutcomeAsync(s, op, payment.Id, payment.InvoiceId, charge);
            if (!outcome.IsOk) return outcome.Error!;
            var o = outcome.Value;
            if (session.Status != CheckoutRules.Open) return new Done(session, o.Status == PaymentStatuses.Succeeded ? null : o.FailureCode);
            if (o.Status == PaymentStatuses.Succeeded) return new Done(await CheckoutRules.CompleteAsync(s, op, session, o.PaymentId, payment.PaymentMethodId), null);
            session = o.Status == PaymentStatuses.RequiresAction
                ? session with { PendingPaymentId = o.PaymentId, LastFailureCode = null }
                : session with { PendingPaymentId = null, LastFailureCode = o.FailureCode ?? ErrorCodes.CardDeclined };
            await s.Checkout.UpdateAsync(session);
            return new Done(session, o.Status == PaymentStatuses.RequiresAction ? ErrorCodes.RequiresAction : session.LastFailureCode);
        }, r => r.IsOk, CancellationToken.None);

    /// <summary>Constant-time, so the time of a refusal says nothing about how much of a guessed nonce was right.</summary>
    public static bool NonceMatches(CheckoutSessionRecord session, string? nonce) =>
        nonce is { Length: > 0 and <= 128 } &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(nonce), Encoding.UTF8.GetBytes(session.FormNonce));

    internal static KassaError FormRejected() =>
        new(ErrorCodes.FormRejected, "This form is not from this checkout page (reload the page and try again)");

    /// <summary>
    /// Every card field checked on its own, so each problem shows next to its field at once. The field names
    /// are the form's (<c>number</c>, <c>exp_month</c>, <c>exp_year</c>, <c>cvc</c>).
    /// </summary>
    private static Result<AttachPaymentMethod.CardRequest>? CheckCard(Form f, DateTimeOffset now)
    {
        const string good = "4242424242424242";
        var errors = new List<FieldError>();
        var number = f.Number?.Trim();
        if (number is { Length: > FieldLengthMax }) errors.Add(new FieldError("number", "is too long"));
        else if (string.IsNullOrEmpty(number)) errors.Add(new FieldError("number", "is required"));
        else if (Cards.Validate(number, 12, 2100, "123", now) is { Card: null, Problem: { } np }) errors.Add(new FieldError("number", np));
        var month = Number(f.ExpMonth, "exp_month", errors);
        var year = Number(f.ExpYear, "exp_year", errors);
        if (month is { } m && Cards.Validate(good, m, 2100, "123", now) is { Card: null, Problem: { } mp }) errors.Add(new FieldError("exp_month", mp));
        if (year is { } y && Cards.Validate(good, month is >= 1 and <= 12 ? month : 12, y, "123", now) is { Card: null, Problem: { } yp })
            errors.Add(new FieldError("exp_year", yp));
        var cvc = f.Cvc?.Trim();
        if (string.IsNullOrEmpty(cvc)) errors.Add(new FieldError("cvc", "is required"));
        else if (Cards.Validate(good, 12, 2100, cvc.Length > FieldLengthMax ? "x" : cvc, now) is { Card: null, Problem: { } cp }) errors.Add(new FieldError("cvc", cp));
        if (errors.Count > 0) return KassaError.Validation(errors);
        return new AttachPaymentMethod.CardRequest(number, month, year, cvc);
    }

    private static int? Number(string? text, string field, List<FieldError> errors)
    {
        var t = text?.Trim();
        if (string.IsNullOrEmpty(t)) { errors.Add(new FieldError(field, "is required")); return null; }
        if (t.Length > 4 || !int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) { errors.Add(new FieldError(field, "must be a number")); return null; }
        return n;
    }

    /// <summary>The API's <c>card.number</c> is the form's <c>number</c>: a refusal names the field the customer sees.</summary>
    private static KassaError FieldOf(KassaError e) =>
        e.Param is { } p && p.StartsWith("card.", StringComparison.Ordinal) ? KassaError.Validation(p["card.".Length..], e.Details?.FirstOrDefault()?.Message ?? e.Message) : e;
}
