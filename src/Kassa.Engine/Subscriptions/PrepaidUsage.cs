using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Invoicing;
using Kassa.Core.Periods;
using Kassa.Core.Pricing;
using Kassa.Engine.Balances;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Prepaid usage quantities (spec §3 <c>billing: prepaid</c>, §4.1 <c>prepaid: {feature_id: qty}</c>):
/// a usage price billed up front in the quantity bought at subscribe. The quantities are kept on the
/// subscription; every invoice in advance (the first, and each renewal's) has one usage line per
/// feature pricing its quantity by the price's model for the whole period, and the feature's balance
/// gets <c>included × quantity + qty</c> each period. Buying more on the same product charges the
/// added units now, prorated by the second for the rest of the period like a quantity increase, and
/// grants them now; buying fewer takes effect at the next renewal (<c>scheduled_prepaid</c>).
/// </summary>
public static class PrepaidUsage
{
    /// <summary>The most units of one feature bought up front in one subscription: far inside the balance bound.</summary>
    public const long QuantityMax = 1_000_000_000;

    /// <summary>
    /// The prepaid quantities a subscribe asks for, checked against the product version: each key a
    /// feature with a prepaid usage price, each value a whole number from 0 to <see cref="QuantityMax"/>.
    /// Features of the product's prepaid prices that are not named are bought at 0. Null for a product
    /// without prepaid prices (when none are asked for).
    /// </summary>
    public static Result<IReadOnlyDictionary<string, long>?> Validate(IReadOnlyDictionary<string, long>? requested, ProductVersionRecord version)
    {
        var prepaid = PrepaidPrices(version);
        var errors = new List<FieldError>();
        foreach (var (feature, qty) in requested ?? new Dictionary<string, long>())
        {
            if (!prepaid.ContainsKey(feature)) errors.Add(new FieldError($"prepaid.{Clip(feature)}", "is not a feature of the product with a prepaid usage price"));
            else if (qty < 0 || qty > QuantityMax) errors.Add(new FieldError($"prepaid.{feature}", $"must be a whole number from 0 to {QuantityMax}"));
        }
        if (errors.Count > 0) return KassaError.Validation(errors);
        if (prepaid.Count == 0) return Result<IReadOnlyDictionary<string, long>?>.Ok(null);
        return Result<IReadOnlyDictionary<string, long>?>.Ok(prepaid.Keys.ToDictionary(f => f, f => requested?.GetValueOrDefault(f) ?? 0L, StringComparer.Ordinal));
    }

    /// <summary>An unknown key is echoed in the error's param; a hostile one is cut so the error stays small.</summary>
    private static string Clip(string key) => key.Length <= 64 ? key : key[..64];

    /// <summary>The version's prepaid usage prices by feature (at most one per feature, as the catalog requires).</summary>
    private static Dictionary<string, Price> PrepaidPrices(ProductVersionRecord version)
    {
        var map = new Dictionary<string, Price>(StringComparer.Ordinal);
        foreach (var p in version.Prices.Where(p => p is { Type: "usage", Billing: "prepaid", FeatureId: not null })) map.TryAdd(p.FeatureId!, p);
        return map;
    }

    /// <summary>
    /// Whether <paramref name="requested"/> changes what the subscription will have: a quantity other
    /// than the current one (or, with a decrease scheduled, the scheduled one).
    /// </summary>
    public static bool Changes(SubscriptionRecord sub, IReadOnlyDictionary<string, long> requested) =>
        requested.Any(kv => kv.Value != (sub.ScheduledPrepaid is { } lower && lower.TryGetValue(kv.Key, out var scheduled)
            ? scheduled
            : sub.Prepaid?.GetValueOrDefault(kv.Key) ?? 0));

    /// <summary>The period's lines in advance: each feature's quantity priced by its model, one usage line per feature, rounded once.</summary>
    public static IReadOnlyList<LineInput> Lines(ProductRecord product, ProductVersionRecord version, IReadOnlyDictionary<string, long>? quantities,
        DateTimeOffset start, DateTimeOffset end)
    {
        if (quantities is null) return [];
        var prices = PrepaidPrices(version);
        var charges = quantities.Where(kv => kv.Value > 0 && prices.ContainsKey(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new UsageCharge(product.Id, kv.Key, $"{product.Name} — {kv.Key} prepaid", CatalogRules.ToUsagePrice(prices[kv.Key])!, kv.Value));
        return PeriodLines.InArrears(charges, start, end);
    }

    /// <summary>
    /// Adds <paramref name="units"/> of each feature to the subscription's balances for the current
    /// period: the allowance grows (so every later period has it too) and the period gets an allowance
    /// bucket of that size. The balance exists: the product's features were granted first.
    /// </summary>
    public static async Task<KassaError?> GrantAsync(IStoreSession s, OperationContext op, string customerId, string subscriptionId,
        IReadOnlyDictionary<string, long>? units)
    {
        if (units is null || units.Values.All(u => u <= 0)) return null;
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customerId], [], forUpdate: true, op.Now);
        foreach (var (feature, qty) in units.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var live = book.Get(customerId, feature, "", op.Now);
            if (live is null || live.Header.IsFlag || live.Header.Unlimited) continue;
            // Whole units within QuantityMax always convert; the sum with the allowance is checked like any grant.
            var micros = checked(qty * Micro.PerUnit);
            if (micros > Micro.MaxAbs - live.Header.Allowance) return Overflow(feature);
            live.Header.Allowance += micros;
            live.Header.UpdatedAt = op.Now;
            var (start, end) = Periods.TryParse(live.Header.Reset, out var interval)
                ? Periods.Containing(live.Header.Anchor, interval, 1, op.Now)
                : (op.Now, (DateTimeOffset?)null);
            try
            {
                live.Add(BalanceBook.NewBucket(live.Header, BucketKind.Allowance, micros, start, end, op.Now));
            }
            catch (BalanceOverflowException)
            {
                return Overflow(feature);
            }
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", subscriptionId);
        }
        return null;
    }

    private static KassaError Overflow(string feature) =>
        new(ErrorCodes.QuantityOverflow, $"The balance of '{feature}' with its prepaid units would pass {Micro.MaxUnits} units", $"prepaid.{feature}");

    /// <summary>What a prepaid change on the same product did: the subscription after it and the charge attempt to complete.</summary>
    public sealed record Changed(SubscriptionRecord Subscription, string? PaymentId);

    /// <summary>
    /// Subscribe to the same product with other prepaid quantities (features not named keep theirs).
    /// Each increase is granted now and charged now for the rest of the period (the model's price of
    /// the new quantity minus that of the old, times the unused fraction by the second, one
    /// proration line per feature; nothing is charged during a trial); each decrease is scheduled for
    /// the next renewal; asking for the current quantity again cancels a scheduled decrease.
    /// </summary>
    public static async Task<Result<Changed>> ChangeAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, IReadOnlyDictionary<string, long> requested)
    {
        var product = (await s.Catalog.GetProductAsync(op.Tenant, sub.ProductId))!;
        var version = (await s.Catalog.GetVersionAsync(op.Tenant, sub.ProductId, sub.ProductVersion))!;
        var prices = PrepaidPrices(version);
        var current = new Dictionary<string, long>(sub.Prepaid ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        var scheduled = new Dictionary<string, long>(sub.ScheduledPrepaid ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        var added = new Dictionary<string, long>(StringComparer.Ordinal);
        var lines = new List<LineInput>();
        var chargeable = sub.Status != SubscriptionStatus.Trialing && sub is { CurrentPeriodStart: { } start, CurrentPeriodEnd: { } end } && end > op.Now;
        foreach (var (feature, qty) in requested.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var old = current.GetValueOrDefault(feature);
            scheduled.Remove(feature);
            if (qty < old) { scheduled[feature] = qty; continue; }
            if (qty == old) continue;
            added[feature] = qty - old;
            current[feature] = qty;
            if (!chargeable) continue;
            var model = CatalogRules.ToUsagePrice(prices[feature])!;
            var fee = PriceCalculator.Amount(model, qty) - PriceCalculator.Amount(model, old);
            var amount = Proration.Prorate(fee, Proration.Fraction(sub.CurrentPeriodStart!.Value, sub.CurrentPeriodEnd!.Value, op.Now, sub.CurrentPeriodEnd!.Value));
            if (amount > 0)
                lines.Add(new LineInput(LineType.Proration, $"{product.Name} — {feature} prepaid × {qty - old} added for the rest of the period", qty - old,
                    (decimal)amount / (qty - old), amount, op.Now, sub.CurrentPeriodEnd, product.Id, feature));
        }
        if (await GrantAsync(s, op, sub.CustomerId, sub.Id, added) is { } overflow) return overflow;
        var after = sub with { Prepaid = current, ScheduledPrepaid = scheduled.Count == 0 ? null : scheduled, UpdatedAt = op.Now };
        string? paymentId = null;
        if (lines.Count > 0 && sub.Currency is { } currency)
        {
            var invoiced = await SubscriptionBilling.InvoiceAsync(s, op, after, currency, SubscriptionBilling.ReasonUpdate, op.Now, sub.CurrentPeriodEnd!.Value, lines);
            if (!invoiced.IsOk) return invoiced.Error!;
            if (invoiced.Value is { Status: InvoiceRules.Open } invoice)
            {
                after = after with { LatestInvoiceId = invoice.Id };
                var begun = await ChargeInvoice.BeginAsync(s, op, invoice.Id, null);
                if (begun.IsOk) paymentId = begun.Value;
            }
            else if (invoiced.Value is { } paid) after = after with { LatestInvoiceId = paid.Id };
        }
        await SubscriptionPayments.SaveAsync(s, op, sub, after, EventTypes.SubscriptionUpdated);
        return new Changed(after, paymentId);
    }

    /// <summary>At a renewal: applies scheduled decreases — each feature's allowance shrinks by the units no longer bought.</summary>
    public static async Task<SubscriptionRecord> ApplyScheduledAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub)
    {
        if (sub.ScheduledPrepaid is not { Count: > 0 } lower) return sub with { ScheduledPrepaid = null };
        var current = new Dictionary<string, long>(sub.Prepaid ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [sub.CustomerId], [], forUpdate: true, op.Now);
        foreach (var (feature, qty) in lower.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var removed = current.GetValueOrDefault(feature) - qty;
            if (removed <= 0) continue;
            current[feature] = qty;
            // Taken as stored, not brought up to date: the reset into the new period that follows then
            // grants the lowered allowance (bringing it up to date first would reset with the old one).
            var live = book.All.FirstOrDefault(l => l.Header.CustomerId == sub.CustomerId && l.Header.FeatureId == feature && l.Header.EntityId.Length == 0);
            if (live is null || live.Header.IsFlag) continue;
            live.Header.Allowance = Math.Max(0, live.Header.Allowance - removed * Micro.PerUnit);
            live.Header.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, live, op.Now, "subscription", sub.Id);
        }
        return sub with { Prepaid = current, ScheduledPrepaid = null };
    }
}
