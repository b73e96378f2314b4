using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary><c>GET /v1/credit_notes/{id}</c>.</summary>
public static class GetCreditNote
{
    public static async Task<Result<CreditNoteResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.CreditNotes.GetAsync(tenant, id) is { } n ? CreditNoteResource.From(n) : KassaError.NotFound("credit note", id);
}

/// <summary><c>GET /v1/credit_notes?invoice_id=&amp;customer_id=</c>: newest first.</summary>
public static class ListCreditNotes
{
    public static async Task<Result<Page<CreditNoteResource>>> Execute(IStoreSession s, Tenant tenant, string? invoiceId, string? customerId, PageRequest page)
    {
        if (invoiceId is not null && Rules.Text(invoiceId, 64) is { } i) return KassaError.Validation("invoice_id", i);
        if (customerId is not null && Rules.Text(customerId, Rules.CustomerIdLengthMax) is { } c) return KassaError.Validation("customer_id", c);
        var rows = await s.CreditNotes.ListAsync(tenant, new CreditNoteFilter(invoiceId, customerId), page.After, page.Limit + 1);
        return page.Build(rows, n => new Cursor(Micros.From(n.CreatedAt), n.Id), CreditNoteResource.From);
    }
}
