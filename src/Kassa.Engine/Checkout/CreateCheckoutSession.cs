using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Checkout;

/// <summary>
/// <c>POST /v1/checkout_sessions</c> (spec §8): a hosted checkout page for one customer, in one transaction.
/// <list type="bullet">
/// <item><c>subscription</c> (<c>product_id</c>, <c>quantity?</c>): the subscribe path that leads to checkout —
/// an <c>incomplete</c> subscription and its first invoice, finalized — bound to the session; a trial that needs a
/// card binds the subscription alone (completing saves the card and starts the trial, no charge).</item>
/// <item><c>payment</c>: <c>amount</c> + <c>currency</c> (+ <c>description</c>) makes the one-line invoice
/// <c>POST /v1/payments</c> makes; or <c>product_id</c> of a one-time product takes the purchase path.</item>
/// <item><c>setup</c>: nothing is bought; completing saves the card as the customer's default.</item>
/// </list>
/// Nothing is charged here, even with a card on file: the customer pays on the page.
/// </summary>
public static class CreateCheckoutSession
{
    public const int DescriptionLengthMax = CreateInvoice.DescriptionLengthMax;

    public sealed record Request(string? CustomerId, string? Mode, string? ProductId, long? Quantity, long? Amount, string? Currency, string? Description,
        string? SuccessUrl, string? CancelUrl, DateTimeOffset? ExpiresAt);

    /// <param name="provider">The tenant's provider for new payments (<see cref="PaymentProviders.ForAsync"/>, resolved before the transaction).</param>
    public static async Task<Result<CheckoutSessionResource>> Execute(IStoreSession s, OperationContext op, IPaymentProvider? provider, Request r)
    {
        if (r.CustomerId is null) return KassaError.Missing("customer_id");
        if (r.Mode is null) return KassaError.Missing("mode");
        if (r.SuccessUrl is null) return KassaError.Missing("success_url");
        if (r.CancelUrl is null) return KassaError.Missing("cancel_url");
        var errors = new List<FieldError>();
        if (Rules.Text(r.CustomerId, Rules.CustomerIdLengthMax, allowEmpty: false) is { } c) errors.Add(new FieldError("customer_id", c));
        if (!CheckoutRules.Modes.Contains(r.Mode)) errors.Add(new FieldError("mode", "must be subscription, payment or setup"));
        if (CheckoutRules.UrlProblem(r.SuccessUrl) is { } su) errors.Add(new FieldError("success_url", su));
        if (CheckoutRules.UrlProblem(r.CancelUrl) is { } cu) errors.Add(new FieldError("cancel_url", cu));
        if (r.ExpiresAt is { } e && (e < op.Now + CheckoutRules.LifetimeMin || e > op.Now + CheckoutRules.LifetimeMax))
            errors.Add(new FieldError("expires_at", "must be from 30 minutes to 24 hours from now"));
        if (r.ProductId is not null && Rules.Text(r.ProductId, 64, allowEmpty: false) is { } p) errors.Add(new FieldError("product_id", p));
        if (r.Description is not null && Rules.Text(r.Description, DescriptionLengthMax, allowEmpty: false) is { } d) errors.Add(new FieldError("description", d));
        switch (r.Mode)
        {
            case CheckoutRules.ModeSubscription:
                if (r.ProductId is null) return KassaError.Missing("product_id");
                if (r.Amount is not null) errors.Add(new FieldError("amount", "applies only to mode payment"));
                if (r.Currency is not null) errors.Add(new FieldError("currency", "applies only to mode payment"));
                break;
            case CheckoutRules.ModePayment when r.ProductId is null:
                if (r.Amount is null) return KassaError.Missing("amount");
                if (r.Currency is null) return KassaError.Missing("currency");
                if (r.Amount is not (> 0 and <= InvoiceRules.AmountMax)) errors.Add(new FieldError("amount", $"must be a whole number of minor units from 1 to {InvoiceRules.AmountMax}"));
                if (!Currencies.IsSupported(r.Currency)) errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
                if (r.Quantity is not null) errors.Add(new FieldError("quantity", "applies only with product_id"));
                break;
            case CheckoutRules.ModePayment:
                if (r.Amount is not null) errors.Add(new FieldError("amount", "give either product_id or amount"));
                if (r.Currency is not null) errors.Add(new FieldError("currency", "give either product_id or currency"));
                break;
            case CheckoutRules.ModeSetup:
                foreach (var (field, given) in new[] { ("product_id", r.ProductId is not null), ("quantity", r.Quantity is not null), ("amount", r.Amount is not null),
                    ("currency", r.Currency is not null), ("description", r.Description is not null) })
                    if (given) errors.Add(new FieldError(field, "does not apply to mode setup"));
                break;
        }
        if (errors.Count > 0) return KassaError.Validation(errors);
        // Live mode has no card form of Kassa's own (raw card numbers never reach a live server): it needs a
        // provider that hosts the card form (Stripe Checkout), to which the session's page sends the customer.
        if (provider is null || (op.Tenant.Livemode && provider is not IHostedCheckoutProvider))
            return new KassaError(ErrorCodes.TestModeOnly, "Kassa's own checkout page serves test mode (sandbox provider); live mode needs a configured provider such as Stripe");

        var expiresAt = r.ExpiresAt ?? op.Now + CheckoutRules.DefaultLifetime;
        var customer = await s.Customers.GetAsync(op.Tenant, r.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", r.CustomerId) with { Param = "customer_id" };

        CheckoutSessionRecord session;
        if (r.ProductId is not null)
        {
            var product = await s.Catalog.GetProductAsync(op.Tenant, r.ProductId);
            if (product is null) return KassaError.NotFound("product", r.ProductId) with { Param = "product_id" };
            var version = await s.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version);
            var oneTime = version is not null && BillingPlan.Of(version).IsOneTime;
            if (oneTime != (r.Mode == CheckoutRules.ModePayment))
                return KassaError.Validation("product_id", oneTime ? "is a one-time product: buy it with mode payment" : "is a recurring product: subscribe with mode subscription");
            var started = await Subscribe.Execute(s, op, new Subscribe.Request(customer.Id, product.Id, r.Quantity, null, null, r.SuccessUrl, r.CancelUrl),
                viaCheckout: true);
            if (!started.IsOk) return started.Error!;
            var response = started.Value.Response;
            if (response.Status != Subscribe.RequiresCheckout)
                return KassaError.Validation("product_id", $"needs no payment (subscribing to it is {response.Status} at once); use POST /v1/subscribe");
            session = (response.Invoice is { } invoice
                ? await s.Checkout.OpenForInvoiceAsync(op.Tenant, invoice.Id)
                : await s.Checkout.OpenForSubscriptionAsync(op.Tenant, response.Subscription.Id))!;
            session = session with { ExpiresAt = expiresAt, SuccessUrl = r.SuccessUrl, CancelUrl = r.CancelUrl };
            await s.Checkout.UpdateAsync(session);
        }
        else if (r.Mode == CheckoutRules.ModePayment)
        {
            var description = r.Description ?? "Payment";
            var currency = Currencies.Get(r.Currency!).Code;
            // The same one-line invoice POST /v1/payments makes, so the ledger keeps its one shape for payments.
            var created = await CreateInvoice.Execute(s, op, new CreateInvoice.Request(customer.Id, currency, description));
            if (!created.IsOk) return created.Error!;
            var invoiceId = created.Value.Id;
            var line = new InvoiceLineRecord(op.Tenant.AccountId, op.Tenant.Livemode, invoiceId, op.NewId(IdPrefixes.InvoiceLine), "one_time", description,
                Kassa.Core.Balances.Micro.PerUnit, null, r.Amount!.Value, op.Now);
            await s.Invoices.InsertLineAsync(line);
            var draft = (await s.Invoices.GetAsync(op.Tenant, invoiceId, forUpdate: true))!;
            await s.Invoices.UpdateAsync(InvoiceRules.WithFigures(draft, [line]));
            var finalized = await FinalizeInvoice.Execute(s, op, invoiceId);
            if (!finalized.IsOk) return finalized.Error!;
            session = CheckoutRules.New(op, customer.Id, CheckoutRules.ModePayment, null, null, finalized.Value.AmountDue, currency, description, invoiceId, null,
                r.SuccessUrl, r.CancelUrl, expiresAt);
            await s.Checkout.InsertAsync(session);
            await RecordAudit.Execute(s, op, "checkout_session.created", "checkout_session", session.Id, ["customer_id", "mode", "invoice_id"]);
        }
        else
        {
            session = CheckoutRules.New(op, customer.Id, CheckoutRules.ModeSetup, null, null, 0, null, null, null, null, r.SuccessUrl, r.CancelUrl, expiresAt);
            await s.Checkout.InsertAsync(session);
            await RecordAudit.Execute(s, op, "checkout_session.created", "checkout_session", session.Id, ["customer_id", "mode"]);
        }
        return CheckoutSessionResource.From(session);
    }
}
