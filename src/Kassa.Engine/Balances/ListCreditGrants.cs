using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary><c>GET /v1/credit_grants?customer_id=</c>: newest first.</summary>
public static class ListCreditGrants
{
    public static async Task<Result<Page<CreditGrantResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, PageRequest page)
    {
        var rows = await s.Balances.ListGrantsAsync(tenant, customerId, page.After, page.Limit + 1);
        return page.Build(rows, b => new Cursor(Micros.From(b.Bucket.CreatedAt), b.Bucket.Id), CreditGrantResource.From);
    }
}

/// <summary>
/// <c>GET /v1/credit_grants/summary?customer_id=</c>: per feature, the grants' totals and what expires
/// next. Counts every grant that is live now (effective, not expired, not voided): the database sums
/// them, so no number of grants is left out. <c>used</c> here is what was consumed from the grants
/// (overage is not on any grant).
/// </summary>
public static class SummarizeCreditGrants
{

    public sealed record Expiring(decimal Amount, DateTimeOffset At);

    public sealed record FeatureSummary(string FeatureId, decimal Granted, decimal Used, decimal Remaining, Expiring? ExpiringNext);

    public sealed record Summary(string CustomerId, IReadOnlyList<FeatureSummary> Data)
    {
        public string Object => "credit_grant_summary";
    }

    public static async Task<Result<Summary>> Execute(IStoreSession s, Tenant tenant, string? customerId, DateTimeOffset now)
    {
        if (customerId is null) return KassaError.Missing("customer_id");
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId) with { Param = "customer_id" };
        var totals = await s.Balances.SummarizeGrantsAsync(tenant, customer.Id, now);
        var data = totals.Select(t => new FeatureSummary(t.FeatureId, Micro.ToDecimal(t.Granted), Micro.ToDecimal(t.Used), Micro.ToDecimal(t.Remaining),
            t.ExpiringAt is { } at ? new Expiring(Micro.ToDecimal(t.ExpiringAmount), at) : null)).ToList();
        return new Summary(customerId, data);
    }
}

/// <summary><c>GET /v1/credit_transactions?customer_id=&amp;feature_id=</c>: every balance movement, newest first.</summary>
public static class ListCreditTransactions
{
    public static async Task<Result<Page<CreditTransactionResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, string? featureId, PageRequest page)
    {
        var rows = await s.Balances.ListTransactionsAsync(tenant, customerId, featureId, page.After, page.Limit + 1);
        return page.Build(rows, t => new Cursor(Micros.From(t.CreatedAt), t.Id), CreditTransactionResource.From);
    }
}
