using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TaxRates;

/// <summary>
/// <c>POST /v1/tax_rates/{id}/archive</c>: the rate stops applying to invoices finalized from now on;
/// invoices already finalized keep the tax they were issued with. Archiving twice answers it unchanged.
/// </summary>
public static class ArchiveTaxRate
{
    public static async Task<Result<TaxRateResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var rate = await s.TaxRates.GetAsync(op.Tenant, id, forUpdate: true);
        if (rate is null) return KassaError.NotFound("tax rate", id);
        if (rate.ArchivedAt is not null) return TaxRateResource.From(rate);
        var archived = rate with { ArchivedAt = op.Now };
        await s.TaxRates.UpdateAsync(archived);
        await RecordAudit.Execute(s, op, "tax_rate.archived", "tax_rate", id, ["archived_at"]);
        return TaxRateResource.From(archived);
    }
}
