using Kassa.Core.Balances;
using Kassa.Core.Invoicing;
using Kassa.Core.Metering;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// Usage in arrears measured by meters, and late events as <c>prior_period</c> lines (spec §6, §7).
/// <para>
/// Which source bills a feature: a pay-as-you-go feature — an <c>in_arrears</c> usage price whose
/// feature the product includes nothing of (<c>included: 0</c>, not per entity) — that at least one
/// meter measures (<c>feature_id</c> on the meter) is billed from the meters: the meters' exact usage
/// of the closed period <c>[period_start, period_end)</c> by event time, partial first and last hours
/// from the raw events. Its balance's overage is then not billed: the same events were tracked into
/// it, and billing both would charge them twice. Every other usage price (an allowance, grants,
/// rollovers, per-entity allowances or no meter) is billed from the overage its balance resets
/// recorded, as before.
/// </para>
/// <para>
/// Late events: an event may be sent up to 35 days after it happened (<see cref="MeterEventInput.DedupeWindow"/>).
/// At each renewal the periods of a meter-billed feature that could still have gained events since the
/// subscription's last renewal (ending less than <see cref="LateWindow"/> before it) are measured again;
/// when usage grew past what the invoices billed for that period, a <c>prior_period</c> line with the
/// old period's bounds bills the difference at the margin (<see cref="PriorPeriodLines"/>). What was
/// billed is read from the invoices' own lines, written in the renewal's transaction with the
/// subscription locked and the cycle invoice unique per period: a rerun, a crash mid-run or two nodes
/// never bill a difference twice.
/// </para>
/// </summary>
public static class BillMeterUsage
{
    /// <summary>Meters read per subscription: a feature is rarely measured by more than a few.</summary>
    public const int MetersMax = 100;

    /// <summary>
    /// Earlier periods one renewal measures again, at most: 36 daily periods cover the late-event window,
    /// and a subscription that did not renew for long (paused) catches up on its most recent ones.
    /// </summary>
    public const int PriorPeriodsMax = 40;

    /// <summary>How long after it happened an event can still arrive: metering's accepted age plus its clock skew.</summary>
    public static readonly TimeSpan LateWindow = MeterEventInput.DedupeWindow + MeterEventInput.FutureSkew;

    /// <summary>The usage prices of <paramref name="priced"/> billed from meters, with their meters.</summary>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<MeterRecord>>> MeteredAsync(IStoreSession s, OperationContext op,
        ProductVersionRecord version, IReadOnlyList<Price> priced)
    {
        var candidates = priced.Where(p => p.Billing != "prepaid" && version.Features.FirstOrDefault(f => f.FeatureId == p.FeatureId) is
            { Included: { Unlimited: false, Amount: 0 }, PerEntity: null }).Select(p => p.FeatureId!).ToList();
        if (candidates.Count == 0) return new Dictionary<string, IReadOnlyList<MeterRecord>>();
        var meters = await s.UsageBilling.MetersOfFeaturesAsync(op.Tenant, candidates, MetersMax);
        return meters.GroupBy(m => m.FeatureId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<MeterRecord>)[.. g], StringComparer.Ordinal);
    }

    /// <summary>
    /// The lines of the meter-billed features for the closed period <c>[periodStart, periodEnd)</c>: a
    /// <c>usage</c> line per feature, and a <c>prior_period</c> line for each earlier period whose usage
    /// grew after it was invoiced.
    /// </summary>
    public static async Task<IReadOnlyList<LineInput>> LinesAsync(IStoreSession s, OperationContext op, SubscriptionRecord sub, ProductRecord product,
        IReadOnlyList<Price> priced, IReadOnlyDictionary<string, IReadOnlyList<MeterRecord>> metered, DateTimeOffset periodStart, DateTimeOffset periodEnd)
    {
        var prices = priced.Where(p => metered.ContainsKey(p.FeatureId!)).ToList();
        var lines = new List<LineInput>();
        // Earlier periods first, so the invoice reads in time order.
        var earlier = EarlierPeriods(sub, periodStart);
        if (earlier.Count > 0)
        {
            var billed = (await s.UsageBilling.BilledUsageAsync(op.Tenant, sub.Id, [.. metered.Keys], earlier[^1].End, PriorPeriodsMax * metered.Count))
                .ToDictionary(b => (b.FeatureId, b.PeriodStart));
            foreach (var (start, end) in Enumerable.Reverse(earlier))
            {
                foreach (var price in prices)
                {
                    var was = billed.GetValueOrDefault((price.FeatureId!, start));
                    var units = await UsageAsync(s, op, sub.CustomerId, metered[price.FeatureId!], start, end);
                    var charge = Charge(product, price, units, $" (late usage of {start.UtcDateTime:yyyy-MM-dd} – {end.UtcDateTime:yyyy-MM-dd})");
                    if (PriorPeriodLines.Difference(charge, was is null ? 0 : Micro.ToDecimal(was.QuantityMicros), was?.Amount ?? 0, start, end) is { } line)
                        lines.Add(line);
                }
            }
        }
        var current = new List<UsageCharge>();
        foreach (var price in prices)
            current.Add(Charge(product, price, await UsageAsync(s, op, sub.CustomerId, metered[price.FeatureId!], periodStart, periodEnd), ""));
        lines.AddRange(PeriodLines.InArrears(current, periodStart, periodEnd));
        return lines;
    }

    /// <summary>
    /// The subscription's periods before <paramref name="periodStart"/>, newest first, that could have
    /// gained late events since its last renewal: those ending less than <see cref="LateWindow"/> before
    /// it. A trial's periods are left out (a trial's usage is free), and so is anything before the
    /// subscription began.
    /// </summary>
    private static List<(DateTimeOffset Start, DateTimeOffset End)> EarlierPeriods(SubscriptionRecord sub, DateTimeOffset periodStart)
    {
        var since = (sub.UsageBilledThrough ?? periodStart) - LateWindow;
        var paidFrom = sub.TrialEnd is { } trialEnd && trialEnd > sub.CreatedAt ? trialEnd : sub.CreatedAt;
        var periods = new List<(DateTimeOffset, DateTimeOffset)>();
        var cursor = periodStart;
        while (periods.Count < PriorPeriodsMax && cursor > paidFrom)
        {
            var (start, end) = SubscriptionBilling.PeriodStartingAt(sub, cursor.AddTicks(-1));
            if (end <= since || start < paidFrom || end != cursor) break;
            periods.Add((start, end));
            cursor = start;
        }
        return periods;
    }

    /// <summary>The customer's usage of <c>[from, to)</c> summed over the feature's meters, exact by event time.</summary>
    private static async Task<decimal> UsageAsync(IStoreSession s, OperationContext op, string customerId, IReadOnlyList<MeterRecord> meters,
        DateTimeOffset from, DateTimeOffset to)
    {
        if (from >= to) return 0;
        decimal total = 0;
        foreach (var meter in meters)
        {
            var usage = await GetMeterUsage.Execute(s, op.Tenant, meter.Id, new GetMeterUsage.Query(customerId, from, to, null, []));
            // The renewal cannot bill a period it cannot measure: it fails and is retried by the next round.
            if (!usage.IsOk) throw new InvalidOperationException($"Usage of meter {meter.Id} for {customerId}: {usage.Error!.Message}");
            total += usage.Value!.Data.Sum(d => d.Value);
        }
        return total;
    }

    private static UsageCharge Charge(ProductRecord product, Price price, decimal units, string suffix) =>
        new(product.Id, price.FeatureId!, $"{product.Name} — {price.FeatureId} usage{suffix}", CatalogRules.ToUsagePrice(price)!, Math.Max(0, units));
}
