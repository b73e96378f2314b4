using Kassa.Core.Errors;
using Kassa.Core.Invoicing;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Coupons;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>POST /v1/subscribe</c> (spec §4.1), in two steps so a crash can never charge twice:
/// <see cref="Execute"/> runs in one transaction — the subscription, its first invoice (finalized:
/// numbered, discounted, taxed, posted) and the payment attempt are written together; after the
/// commit <see cref="FinishAsync"/> charges the attempt and answers from what was recorded.
/// <list type="bullet">
/// <item>Nothing charged up front (free, or usage billed in arrears): <c>active</c> now, balances granted.</item>
/// <item>A free trial without a required card: <c>trialing</c> now, balances granted, nothing charged;
/// the first invoice comes when the trial ends.</item>
/// <item>Paid: the subscription is <c>incomplete</c> until its first invoice is paid (then
/// <c>active</c> and its balances are granted). With a payment method (given, or the customer's
/// default) the invoice is charged now; a decline or 3-D Secure answers <c>requires_action</c>.
/// Without one: <c>requires_checkout</c> with the invoice's hosted page as <c>checkout_url</c> (the
/// hosted checkout arrives with the next capability).</item>
/// </list>
/// The customer row is locked first, so two subscribes of one customer run one after the other.
/// </summary>
public static class Subscribe
{
    public const long QuantityMax = 1_000_000;

    /// <param name="Prepaid">Prepaid usage quantities by feature (spec §4.1), see <see cref="PrepaidUsage"/>.</param>
    public sealed record Request(string? CustomerId, string? ProductId, long? Quantity, string? Coupon, string? PaymentMethodId,
        string? SuccessUrl, string? CancelUrl, CarryOverBalances.CarryOver? CarryOver = null, Dictionary<string, long>? Prepaid = null);

    public const string RequiresCheckout = "requires_checkout";
    public const string RequiresAction = "requires_action";
    public const string ThreeDsRequired = "3ds_required";
    public const string PaymentFailed = "payment_failed";

    /// <summary>What <see cref="Response.Status"/> can say: the subscription's own live status, or what the customer must do.</summary>
    public static readonly IReadOnlyList<string> ResultStatuses =
        [SubscriptionStatus.Active, SubscriptionStatus.Trialing, SubscriptionStatus.PastDue, SubscriptionStatus.Scheduled, RequiresCheckout, RequiresAction];

    public static readonly IReadOnlyList<string> ActionCodes = [ThreeDsRequired, PaymentFailed];

    /// <summary>Why the subscription is not active yet: <c>3ds_required</c> or <c>payment_failed</c>.</summary>
    public sealed record RequiredAction(string Code, string Reason);

    public sealed record Response(string Status, SubscriptionResource Subscription, InvoiceResource? Invoice, string? CheckoutUrl, RequiredAction? RequiredAction);

    /// <summary>What the transaction decided: the answer so far and the payment attempt to complete after the commit.</summary>
    /// <param name="At">The time the transaction ran at (a test clock's customers live in the clock's time); the charge is recorded at it too.</param>
    /// <param name="SuccessUrl">The request's redirects, for a checkout session made after the charge (3-D Secure, a decline).</param>
    public sealed record Started(Response Response, string? PaymentId, DateTimeOffset? At = null, string? SuccessUrl = null, string? CancelUrl = null);

    public static Task<Result<Started>> Execute(IStoreSession s, OperationContext op, Request request) => Execute(s, op, request, viaCheckout: false);

    /// <summary>
    /// As <see cref="Execute(IStoreSession, OperationContext, Request)"/>; with <paramref name="viaCheckout"/> (a
    /// checkout session of mode <c>subscription</c> or <c>payment</c>) nothing is charged even if the customer has a
    /// card on file: the answer is <c>requires_checkout</c> with the session bound to the subscription and its invoice,
    /// and a plan change within a group is refused (it belongs to <c>POST /v1/subscribe</c>).
    /// </summary>
    public static async Task<Result<Started>> Execute(IStoreSession s, OperationContext op, Request request, bool viaCheckout)
    {
        if (request.CustomerId is null) return KassaError.Missing("customer_id");
        if (request.ProductId is null) return KassaError.Missing("product_id");
        var quantity = request.Quantity ?? 1;
        if (quantity < 1 || quantity > QuantityMax) return KassaError.Validation("quantity", $"must be from 1 to {QuantityMax}");
        if (CarryOverBalances.Validate(request.CarryOver) is { } carryError) return carryError;
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, request.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", request.CustomerId) with { Param = "customer_id" };
        op = await TestClocks.TestClockRules.ForCustomerAsync(s, op, customer.TestClockId);
        var started = await StartAsync(s, op, request, customer, quantity, viaCheckout);
        return started.IsOk ? started.Value with { At = op.Now, SuccessUrl = request.SuccessUrl, CancelUrl = request.CancelUrl } : started;
    }

    private static async Task<Result<Started>> StartAsync(IStoreSession s, OperationContext op, Request request, CustomerRecord customer, long quantity,
        bool viaCheckout)
    {
        var product = await s.Catalog.GetProductAsync(op.Tenant, request.ProductId!);
        if (product is null) return KassaError.NotFound("product", request.ProductId!) with { Param = "product_id" };
        if (product.ArchivedAt is not null) return KassaError.InvalidState($"Product '{product.Id}' is archived and cannot be attached");
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version))!;
        var prepaidChecked = PrepaidUsage.Validate(request.Prepaid, version);
        if (!prepaidChecked.IsOk) return prepaidChecked.Error!;
        var prepaid = prepaidChecked.Value;
        if (BillingPlan.Of(version).IsOneTime) return await PurchaseOneTime.StartAsync(s, op, request, customer, product, version, quantity, viaCheckout);
        var live = await s.Catalog.LiveSubscriptionsAsync(op.Tenant, customer.Id, Catalog.GetPricingTable.SubscriptionsMax);
        if (live.FirstOrDefault(x => x.ProductId == product.Id && x.Status != SubscriptionStatus.Scheduled) is { } same)
        {
            if (viaCheckout) return KassaError.InvalidState($"Customer '{customer.Id}' already has product '{product.Id}'");
            // The same product again changes only its quantity or its prepaid quantities (spec §4.1); anything else is a conflict.
            var current = (await s.Subscriptions.GetAsync(op.Tenant, same.Id, forUpdate: true))!;
            // Other prepaid quantities change only those (see PrepaidUsage.ChangeAsync); one request changes one of the two.
            var quantityChanges = request.Quantity is { } nq && nq != current.Quantity;
            if (request.Prepaid is not null && SubscriptionStatus.Renews(current.Status) && PrepaidUsage.Changes(current, request.Prepaid))
            {
                if (quantityChanges) return KassaError.Validation("prepaid", "change quantity and prepaid in separate requests");
                var changedPrepaid = await PrepaidUsage.ChangeAsync(s, op, current, request.Prepaid);
                if (!changedPrepaid.IsOk) return changedPrepaid.Error!;
                var after = changedPrepaid.Value.Subscription;
                return new Started(new Response(after.Status, SubscriptionResource.From(after), null, null, null), changedPrepaid.Value.PaymentId);
            }
            if (request.Quantity is not { } q || q == current.Quantity || !SubscriptionStatus.Renews(current.Status))
                return KassaError.InvalidState($"Customer '{customer.Id}' already has product '{product.Id}'");
            var changed = await UpdateSubscriptionQuantity.ChangeAsync(s, op, current, q);
            if (!changed.IsOk) return changed.Error!;
            return new Started(new Response(changed.Value.Subscription.Status, changed.Value.Subscription, null, null, null), changed.Value.PaymentId);
        }
        if (live.Any(x => x.ProductId == product.Id)) return KassaError.InvalidState($"Customer '{customer.Id}' already has product '{product.Id}' scheduled");
        if (!product.IsAddOn && product.Group is not null)
        {
            foreach (var other in live.Where(x => x.Status != SubscriptionStatus.Scheduled))
            {
                var otherProduct = await s.Catalog.GetProductAsync(op.Tenant, other.ProductId);
                if (otherProduct is { IsAddOn: false } && otherProduct.Group == product.Group)
                {
                    if (viaCheckout)
                        return KassaError.Validation("product_id", $"changes the customer's plan in group '{product.Group}'; change plans with POST /v1/subscribe");
                    var old = (await s.Subscriptions.GetAsync(op.Tenant, other.Id, forUpdate: true))!;
                    return await ChangePlan.Execute(s, op, old, product, version, quantity, request.CarryOver);
                }
            }
        }
        if (request.CarryOver is not null) return KassaError.Validation("carry_over", "applies only to an upgrade within a group (the customer has no plan in this product's group)");
        // The customer row is locked, so live subscriptions cannot grow behind this count. Everything that
        // reads them (this method, the pricing table, entity grants) reads at most the bound; one more would
        // be silently ignored there, so it is refused here.
        if (live.Count >= Catalog.GetPricingTable.SubscriptionsMax)
            return new KassaError(ErrorCodes.LimitReached,
                $"Customer '{customer.Id}' already has {Catalog.GetPricingTable.SubscriptionsMax} live subscriptions, the most allowed", "customer_id");

        var plan = BillingPlan.Of(version);
        var upFront = !AttachProduct.ChargesNothingUpFront(version);
        var trial = product.FreeTrial is { Days: > 0 } t ? t : null;
        CouponTerms? coupon = null;
        if (request.Coupon is not null && plan.Currency is null)
            return KassaError.Validation("coupon", "applies only to a product with a price");

        // A trial without a required card starts now; one that requires a card needs a method on file.
        if (trial is not null && upFront)
        {
            var trialEnd = op.Now.AddDays(trial.Days);
            var sub = AttachProduct.NewSubscription(op, customer.Id, product, version, quantity, SubscriptionStatus.Trialing, op.Now, trialEnd, customer.TestClockId)
                with { Prepaid = prepaid };
            await s.Subscriptions.InsertAsync(sub);
            if (request.Coupon is not null)
            {
                var redeemed = await RedeemCoupon.Execute(s, op, request.Coupon, customer.Id, product.Id, plan.Currency!, sub.Id);
                if (!redeemed.IsOk) return redeemed.Error! with { Param = "coupon" };
                coupon = redeemed.Value;
                if (coupon.Type == CouponType.TrialExtension)
                {
                    // A trial extension lengthens the trial (and so moves the first billed period).
                    var extended = trialEnd.AddDays((double)coupon.Value);
                    sub = sub with { TrialEnd = extended, CurrentPeriodEnd = extended, BillingAnchor = extended };
                    await s.Subscriptions.UpdateAsync(sub);
                }
            }
            if (trial.CardRequired && (viaCheckout || !await HasPaymentMethodAsync(s, op, customer.Id, request.PaymentMethodId)))
            {
                // The trial starts once a card is on file: until then the subscription grants nothing. The
                // checkout session saves the card and starts it.
                sub = sub with { Status = SubscriptionStatus.Incomplete };
                await s.Subscriptions.UpdateAsync(sub);
                await RecordCreatedAsync(s, op, sub);
                var session = await Checkout.CheckoutRules.BindAsync(s, op, Checkout.CheckoutRules.ModeSubscription, customer.Id, sub.Id, null, product.Id,
                    quantity, request.SuccessUrl, request.CancelUrl);
                return new Started(new Response(RequiresCheckout, SubscriptionResource.From(sub), null, Checkout.CheckoutLinks.Url(op.Tenant, session.Id), null), null);
            }
            if (await AttachProduct.GrantAsync(s, op, customer.Id, sub.Id, version, quantity) is { } grantError) return grantError;
            if (await PrepaidUsage.GrantAsync(s, op, customer.Id, sub.Id, prepaid) is { } prepaidError) return prepaidError;
            await RecordCreatedAsync(s, op, sub);
            return new Started(new Response(SubscriptionStatus.Trialing, SubscriptionResource.From(sub), null, null, null), null);
        }

        if (!upFront)
        {
            var sub = AttachProduct.NewSubscription(op, customer.Id, product, version, quantity, SubscriptionStatus.Active, op.Now, testClockId: customer.TestClockId);
            await s.Subscriptions.InsertAsync(sub);
            if (await AttachProduct.GrantAsync(s, op, customer.Id, sub.Id, version, quantity) is { } grantError) return grantError;
            if (request.Coupon is not null)
            {
                var redeemed = await RedeemCoupon.Execute(s, op, request.Coupon, customer.Id, product.Id, plan.Currency!, sub.Id);
                if (!redeemed.IsOk) return redeemed.Error! with { Param = "coupon" };
            }
            await RecordCreatedAsync(s, op, sub);
            return new Started(new Response(SubscriptionStatus.Active, SubscriptionResource.From(sub), null, null, null), null);
        }

        // Paid: incomplete until the first invoice is paid.
        var pending = AttachProduct.NewSubscription(op, customer.Id, product, version, quantity, SubscriptionStatus.Incomplete, op.Now, testClockId: customer.TestClockId)
            with { Prepaid = prepaid };
        await s.Subscriptions.InsertAsync(pending);
        if (request.Coupon is not null)
        {
            var redeemed = await RedeemCoupon.Execute(s, op, request.Coupon, customer.Id, product.Id, plan.Currency!, pending.Id);
            if (!redeemed.IsOk) return redeemed.Error! with { Param = "coupon" };
        }
        var lines = FirstInvoiceLines(product, version, plan, quantity, pending.CurrentPeriodStart!.Value, pending.CurrentPeriodEnd!.Value)
            .Concat(PrepaidUsage.Lines(product, version, prepaid, pending.CurrentPeriodStart!.Value, pending.CurrentPeriodEnd!.Value)).ToList();
        if (lines.Count == 0)
        {
            // Only prepaid prices, all bought at 0: nothing to invoice, so it starts like a free product.
            await RecordCreatedAsync(s, op, pending);
            var free = await SubscriptionPayments.ActivateAsync(s, op, pending);
            return new Started(new Response(free.Status, SubscriptionResource.From(free), null, null, null), null);
        }
        var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, pending, plan.Currency!, SubscriptionBilling.ReasonCreate,
            pending.CurrentPeriodStart!.Value, pending.CurrentPeriodEnd!.Value, lines);
        if (!invoiced.IsOk) return invoiced.Error!;
        var invoice = invoiced.Value!;
        pending = (await s.Subscriptions.GetAsync(op.Tenant, pending.Id))! with { LatestInvoiceId = invoice.Id };
        await s.Subscriptions.UpdateAsync(pending);
        await RecordCreatedAsync(s, op, pending);
        if (invoice.Status == InvoiceRules.Paid)
        {
            // Nothing was due (a 100 % coupon, or customer credit covered it): finalize marked it paid.
            var activated = await SubscriptionPayments.ActivateAsync(s, op, pending);
            return new Started(new Response(SubscriptionStatus.Active, SubscriptionResource.From(activated), invoice, null, null), null);
        }
        Result<string>? begun = viaCheckout ? default(Result<string>?) : await ChargeInvoice.BeginAsync(s, op, invoice.Id, request.PaymentMethodId);
        if (begun is not { IsOk: true })
        {
            // A method named but unusable is the caller's mistake; no method at all leads to checkout.
            if (begun is { } refused && request.PaymentMethodId is not null) return refused.Error!;
            var session = await Checkout.CheckoutRules.BindAsync(s, op, Checkout.CheckoutRules.ModeSubscription, customer.Id, pending.Id, invoice, product.Id,
                quantity, request.SuccessUrl, request.CancelUrl);
            return new Started(new Response(RequiresCheckout, SubscriptionResource.From(pending), invoice, Checkout.CheckoutLinks.Url(op.Tenant, session.Id), null), null);
        }
        return new Started(new Response(SubscriptionStatus.Incomplete, SubscriptionResource.From(pending), invoice, null, null), begun.Value.Value);
    }

    /// <summary>After the transaction committed: charges the attempt it wrote and answers with what the charge left.</summary>
    public static async Task<Result<Response>> FinishAsync(IKassaStore store, PaymentProviders providers, OperationContext op, Started started, CancellationToken ct)
    {
        if (started.PaymentId is null) return started.Response;
        if (started.At is { } at) op = op.At(at);
        var outcome = await ChargeInvoice.CompleteAsync(store, providers, op, started.PaymentId, ct);
        if (!outcome.IsOk) return outcome.Error!;
        // A write: a charge that needs the customer (3-D Secure, a decline) gets the checkout session that lets
        // them act, in this transaction; one that succeeded writes nothing.
        return await store.WriteAsync(async s =>
        {
            var sub = (await s.Subscriptions.GetAsync(op.Tenant, started.Response.Subscription.Id))!;
            var invoiceId = started.Response.Invoice?.Id ?? outcome.Value.InvoiceId;
            var invoice = invoiceId is null ? null : (await GetInvoice.Execute(s, op.Tenant, invoiceId)).Value;
            var resource = SubscriptionResource.From(sub);
            if (outcome.Value.Status == "succeeded")
                // A paid one-time purchase has ended (granted, nothing to renew); the purchase itself succeeded.
                return Result<Response>.Ok(new Response(sub.OneTime ? SubscriptionStatus.Active : sub.Status, resource, invoice, null, null));
            var action = outcome.Value.Status == PaymentStatuses.RequiresAction
                ? new RequiredAction(ThreeDsRequired, "The card needs 3-D Secure authentication; complete it on the hosted page")
                : new RequiredAction(PaymentFailed, outcome.Value.FailureMessage ?? outcome.Value.FailureCode ?? "The payment failed");
            var url = invoice?.HostedUrl;
            if (invoice is { Status: InvoiceRules.Open })
            {
                var session = await Checkout.CheckoutRules.BindAsync(s, op, sub.OneTime ? Checkout.CheckoutRules.ModePayment : Checkout.CheckoutRules.ModeSubscription,
                    sub.CustomerId, sub.Id, invoice, sub.ProductId, sub.Quantity, started.SuccessUrl, started.CancelUrl,
                    outcome.Value.Status == PaymentStatuses.RequiresAction ? outcome.Value.PaymentId : null);
                url = Checkout.CheckoutLinks.Url(op.Tenant, session.Id);
            }
            return Result<Response>.Ok(new Response(RequiresAction, resource, invoice, url, action));
        }, ct: ct);
    }

    /// <summary>The first invoice: the first period's fixed fees in advance and the one-time prices.</summary>
    public static IReadOnlyList<LineInput> FirstInvoiceLines(ProductRecord product, ProductVersionRecord version, BillingPlan plan, long quantity,
        DateTimeOffset start, DateTimeOffset end)
    {
        var lines = PeriodLines.InAdvance(plan.Fees(product), quantity, start, end).ToList();
        foreach (var p in plan.OneTime.Where(p => (p.Amount ?? 0) > 0))
            lines.Add(new LineInput(LineType.OneTime, product.Name, quantity, p.Amount!.Value, checked(p.Amount!.Value * quantity), ProductId: product.Id));
        return lines;
    }

    private static async Task<bool> HasPaymentMethodAsync(IStoreSession s, OperationContext op, string customerId, string? methodId) =>
        methodId is not null || await SubscriptionPayments.DefaultMethodAsync(s, op, customerId) is not null;

    internal static async Task RecordCreatedAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub)
    {
        await RecordAudit.Execute(s, op, "subscription.created", "subscription", sub.Id, ["customer_id", "product_id", "quantity"]);
        await EmitEvent.Execute(s, op, EventTypes.SubscriptionCreated, "subscription", sub.Id, SubscriptionResource.From(sub));
    }
}
