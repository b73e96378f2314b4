using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TaxRates;

/// <summary><c>GET /v1/tax_rates/{id}</c>.</summary>
public static class GetTaxRate
{
    public static async Task<Result<TaxRateResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.TaxRates.GetAsync(tenant, id) is { } t ? TaxRateResource.From(t) : KassaError.NotFound("tax rate", id);
}

/// <summary><c>GET /v1/tax_rates</c>: newest first, archived included.</summary>
public static class ListTaxRates
{
    public static async Task<Result<Page<TaxRateResource>>> Execute(IStoreSession s, Tenant tenant, PageRequest page)
    {
        var rows = await s.TaxRates.ListAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, t => new Cursor(Micros.From(t.CreatedAt), t.Id), TaxRateResource.From);
    }
}
