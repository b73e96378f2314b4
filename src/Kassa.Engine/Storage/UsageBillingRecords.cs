using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// What a subscription's invoices already billed of one feature's usage in one closed period: the sum
/// of its <c>usage</c> and <c>prior_period</c> lines for that period (quantity in micro-units, amount in
/// minor units). The invoice lines are the record, written in the renewal's own transaction, so what
/// was billed can never disagree with what the invoices say.
/// </summary>
public sealed record BilledUsage(string FeatureId, DateTimeOffset PeriodStart, long QuantityMicros, long Amount);

/// <summary>Reads for billing usage from meters and for late events (see <c>BillMeterUsage</c>).</summary>
public interface IUsageBillingStore
{
    /// <summary>The meters whose <c>feature_id</c> is one of <paramref name="featureIds"/>, by id, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<MeterRecord>> MetersOfFeaturesAsync(Tenant tenant, IReadOnlyCollection<string> featureIds, int limit);

    /// <summary>
    /// Usage already billed to <paramref name="subscriptionId"/> for <paramref name="featureIds"/>, per
    /// feature and line period start, summed over the subscription's cycle invoices whose period starts
    /// at or after <paramref name="invoicedFrom"/>; at most <paramref name="limit"/> rows.
    /// </summary>
    Task<IReadOnlyList<BilledUsage>> BilledUsageAsync(Tenant tenant, string subscriptionId, IReadOnlyCollection<string> featureIds, DateTimeOffset invoicedFrom,
        int limit);
}
