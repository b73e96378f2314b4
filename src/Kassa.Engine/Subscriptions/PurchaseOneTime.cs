using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Invoicing;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// A one-time product bought through <c>POST /v1/subscribe</c> (spec §4.1 "`one_time` product |
/// invoice + charge; features granted as balances (credits top-up)"). The purchase is a subscription
/// row marked <c>one_time</c> with no billing period, so its invoice, payment and events have an id to
/// point at: <c>incomplete</c> while its invoice is unpaid (and expired like any unpaid first invoice
/// after 23 hours), then <c>expired</c> with <c>ended_at</c> once the invoice is paid and the features
/// are granted. It never renews and never resets. Each feature is granted <c>included × quantity</c>
/// as a paid credit grant that never expires, added to whatever the customer already has, so buying
/// twice adds twice; a boolean feature is switched on for good.
/// </summary>
public static class PurchaseOneTime
{
    /// <summary>
    /// The transaction of a purchase, the same two steps as a paid subscribe (<see cref="Subscribe"/>):
    /// the row, its invoice (finalized) and the payment attempt are written together, and the caller
    /// charges after the commit. Buying the same product again is another purchase, never a conflict.
    /// </summary>
    public static async Task<Result<Subscribe.Started>> StartAsync(IStoreSession s, OperationContext op, Subscribe.Request request, CustomerRecord customer,
        ProductRecord product, ProductVersionRecord version, long quantity, bool viaCheckout = false)
    {
        var plan = BillingPlan.Of(version);
        if (CheckGrantsFit(version, quantity) is { } tooMuch) return tooMuch;
        // Unpaid purchases are live rows (incomplete) like any other, so they count toward the same bound.
        var live = await s.Catalog.LiveSubscriptionsAsync(op.Tenant, customer.Id, Catalog.GetPricingTable.SubscriptionsMax);
        if (live.Count >= Catalog.GetPricingTable.SubscriptionsMax)
            return new KassaError(ErrorCodes.LimitReached,
                $"Customer '{customer.Id}' already has {Catalog.GetPricingTable.SubscriptionsMax} live subscriptions, the most allowed", "customer_id");
        var sub = NewPurchase(op, customer.Id, product, version, quantity, customer.TestClockId);
        await s.Subscriptions.InsertAsync(sub);
        if (request.Coupon is not null)
        {
            if (plan.Currency is null) return KassaError.Validation("coupon", "applies only to a product with a price");
            var redeemed = await Coupons.RedeemCoupon.Execute(s, op, request.Coupon, customer.Id, product.Id, plan.Currency, sub.Id);
            if (!redeemed.IsOk) return redeemed.Error! with { Param = "coupon" };
        }
        var lines = await LinesAsync(s, op, product, plan, version, quantity);
        if (lines.Count == 0)
        {
            // A free one-time product: nothing to invoice, granted now.
            await Subscribe.RecordCreatedAsync(s, op, sub);
            var free = await CompleteAsync(s, op, sub, version);
            return new Subscribe.Started(new Subscribe.Response(SubscriptionStatus.Active, SubscriptionResource.From(free), null, null, null), null);
        }
        var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, sub, plan.Currency!, SubscriptionBilling.ReasonCreate, op.Now, op.Now, lines);
        if (!invoiced.IsOk) return invoiced.Error!;
        var invoice = invoiced.Value!;
        sub = (await s.Subscriptions.GetAsync(op.Tenant, sub.Id))! with { LatestInvoiceId = invoice.Id };
        await s.Subscriptions.UpdateAsync(sub);
        await Subscribe.RecordCreatedAsync(s, op, sub);
        if (invoice.Status == Invoices.InvoiceRules.Paid)
        {
            // Nothing was due (a 100 % coupon, or customer credit covered it): finalize marked it paid.
            var done = await SubscriptionPayments.ActivateAsync(s, op, sub);
            return new Subscribe.Started(new Subscribe.Response(SubscriptionStatus.Active, SubscriptionResource.From(done), invoice, null, null), null);
        }
        Result<string>? begun = viaCheckout ? default(Result<string>?) : await Payments.ChargeInvoice.BeginAsync(s, op, invoice.Id, request.PaymentMethodId);
        if (begun is not { IsOk: true })
        {
            // A method named but unusable is the caller's mistake; no method at all leads to checkout.
            if (begun is { } refused && request.PaymentMethodId is not null) return refused.Error!;
            var session = await Checkout.CheckoutRules.BindAsync(s, op, Checkout.CheckoutRules.ModePayment, customer.Id, sub.Id, invoice, product.Id, quantity,
                request.SuccessUrl, request.CancelUrl);
            return new Subscribe.Started(new Subscribe.Response(Subscribe.RequiresCheckout, SubscriptionResource.From(sub), invoice,
                Checkout.CheckoutLinks.Url(op.Tenant, session.Id), null), null);
        }
        return new Subscribe.Started(new Subscribe.Response(SubscriptionStatus.Incomplete, SubscriptionResource.From(sub), invoice, null, null), begun.Value.Value);
    }

    /// <summary>A new purchase row: one-time, with no billing period (nothing ever renews it).</summary>
    public static SubscriptionRecord NewPurchase(OperationContext op, string customerId, ProductRecord product, ProductVersionRecord version, long quantity,
        string? testClockId) =>
        AttachProduct.NewSubscription(op, customerId, product, version, quantity, SubscriptionStatus.Incomplete, op.Now, testClockId: testClockId) with
        {
            OneTime = true, CurrentPeriodStart = null, CurrentPeriodEnd = null, BillingAnchor = null,
        };

    /// <summary>
    /// Refuses a purchase whose grants could never be stored: <c>included × quantity</c> of every
    /// metered feature must fit the quantity bound. Checked at subscribe so the customer is never
    /// charged for credits that cannot be granted.
    /// </summary>
    public static KassaError? CheckGrantsFit(ProductVersionRecord version, long quantity)
    {
        foreach (var pf in version.Features)
        {
            if (pf.Included is { Unlimited: true } || pf.Included?.Amount is not { } included) continue;
            if (!Micro.TryFromDecimal(included * quantity, out _))
                return new KassaError(ErrorCodes.QuantityOverflow, $"features '{pf.FeatureId}': included × quantity would pass {Micro.MaxUnits} units", "quantity");
        }
        return null;
    }

    /// <summary>
    /// The purchase's invoice lines: each one-time price × quantity. A line of a product that grants a
    /// metered feature sells prepaid credits, so it names that feature: the finalize entry then credits
    /// deferred revenue (2100) instead of revenue, as the spec's chart of accounts has it.
    /// </summary>
    public static async Task<IReadOnlyList<LineInput>> LinesAsync(IStoreSession s, OperationContext op, ProductRecord product, BillingPlan plan,
        ProductVersionRecord version, long quantity)
    {
        var features = await s.Catalog.GetFeaturesAsync(op.Tenant, [.. version.Features.Select(f => f.FeatureId!)]);
        var credits = version.Features.FirstOrDefault(pf =>
            features.FirstOrDefault(f => f.Id == pf.FeatureId) is { } f && BalanceWords.Parse<FeatureType>(f.Type) != FeatureType.Boolean)?.FeatureId;
        return [.. plan.OneTime.Where(p => (p.Amount ?? 0) > 0).Select(p =>
            new LineInput(LineType.OneTime, product.Name, quantity, p.Amount!.Value, checked(p.Amount!.Value * quantity), ProductId: product.Id, FeatureId: credits))];
    }

    /// <summary>
    /// The purchase is paid (or cost nothing): grants its features and ends the row. Runs in the
    /// transaction that records the payment, with the customer's balance rows locked.
    /// </summary>
    public static async Task<SubscriptionRecord> CompleteAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductVersionRecord version)
    {
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        var features = (await s.Catalog.GetFeaturesAsync(op.Tenant, [.. version.Features.Select(f => f.FeatureId!)])).ToDictionary(f => f.Id);
        // What the credits were sold for: the invoice's one-time lines, which name the first metered feature
        // (LinesAsync) and were credited to deferred revenue; RecognizePrepaidRevenue moves it to usage revenue as they are used.
        var plan = BillingPlan.Of(version);
        var credits = version.Features.FirstOrDefault(pf =>
            features.TryGetValue(pf.FeatureId!, out var f) && BalanceWords.Parse<FeatureType>(f.Type) != FeatureType.Boolean)?.FeatureId;
        var soldFor = plan.OneTime.Where(p => (p.Amount ?? 0) > 0).Sum(p => checked(p.Amount!.Value * sub.Quantity));
        foreach (var pf in version.Features)
        {
            if (!features.TryGetValue(pf.FeatureId!, out var feature)) continue;
            StoredBucket? sold = null;
            var live = book.Get(sub.CustomerId, feature.Id, "", op.Now);
            var flag = BalanceWords.Parse<FeatureType>(feature.Type) == FeatureType.Boolean;
            if (live is null)
            {
                // A balance that exists only because of purchases: it never resets, and what the product says past zero applies.
                var header = new BalanceHeader
                {
                    AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = sub.CustomerId, FeatureId = feature.Id, EntityId = "",
                    OveragePolicy = flag ? null : BalanceWords.Parse<OveragePolicy>(pf.Overage ?? "blocked"), Reset = "never", Anchor = op.Now,
                    PeriodStart = op.Now, UpdatedAt = op.Now, IsNew = true,
                    // No subscription owns a balance that bought credits started: a plan subscribed later takes
                    // it over (its reset period and policy), keeping the credits (AttachProduct.Grant).
                    SubscriptionId = null,
                };
                live = LiveBalance.Empty(header);
                book.Add(live);
            }
            if (pf.Included is { Unlimited: true } && !flag) live.Header.Unlimited = true;
            else if (!flag && pf.Included?.Amount is { } included && included > 0)
            {
                // Checked at subscribe (CheckGrantsFit); a balance already at the bound is the one way this can fail.
                if (!Micro.TryFromDecimal(included * sub.Quantity, out var amount))
                    throw new InvalidOperationException($"Purchase {sub.Id}: included × quantity of '{feature.Id}' does not fit micro-units");
                sold = new StoredBucket
                {
                    AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = sub.CustomerId, FeatureId = feature.Id, EntityId = "",
                    Bucket = new Bucket(op.NewId(IdPrefixes.Grant), BucketKind.Grant, 10, GrantCategory.Paid, amount, 0, 0, op.Now, null, op.Now),
                    Name = $"Purchase {sub.Id}", IsNew = true,
                };
                live.Add(sold);
                // Bought credits pay the period's overage first, exactly as a credit grant does.
                if (!live.Header.Unlimited) live.Balance.SettleOverage(op.Now);
            }
            live.Header.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
            if (sold is not null && feature.Id == credits && soldFor > 0 && plan.Currency is { } currency)
                await s.Balances.SetDeferredAsync(sold, soldFor, currency);
        }
        var ended = sub with { Status = SubscriptionStatus.Expired, EndedAt = op.Now, UpdatedAt = op.Now };
        await SubscriptionPayments.SaveAsync(s, op, sub, ended, EventTypes.SubscriptionUpdated);
        return ended;
    }
}
