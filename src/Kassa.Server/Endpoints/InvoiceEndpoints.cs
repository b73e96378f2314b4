using Kassa.Engine.Invoices;
using Kassa.Engine.Resources;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §7 manual invoices (draft, lines, finalize, void); the §9 ledger reads are in <see cref="LedgerEndpoints"/>.</summary>
public static class InvoiceEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Invoices";
        v1.MapPost("/invoices", (HttpContext http, Api api) =>
                api.Mutate<CreateInvoice.Request, InvoiceResource>(http, CreateInvoice.Execute, i => new Reply(StatusCodes.Status201Created, i)))
            .Doc("createInvoice", "Create a draft invoice for a customer in one currency", tag)
            .Body<CreateInvoice.Request>().Produces<InvoiceResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/invoices/{id}/lines", (HttpContext http, Api api, string id) =>
                api.Mutate<AddInvoiceLine.Request, InvoiceResource>(http, (s, op, b) => AddInvoiceLine.Execute(s, op, id, b), i => new Reply(200, i)))
            .Doc("addInvoiceLine", "Add a manual line to a draft (quantity × unit_amount_decimal, or an amount); answers the invoice", tag)
            .Body<AddInvoiceLine.Request>().Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapDelete("/invoices/{id}/lines/{line_id}", (HttpContext http, Api api, string id, string line_id) =>
                api.Mutate(http, (s, op) => DeleteInvoiceLine.Execute(s, op, id, line_id), i => new Reply(200, i)))
            .Doc("deleteInvoiceLine", "Remove a line from a draft; answers the invoice", tag)
            .Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/invoices/{id}/finalize", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => FinalizeInvoice.Execute(s, op, id), i => new Reply(200, i)))
            .Doc("finalizeInvoice", "Draft → open: freeze the figures, take the next gap-free number, post to the ledger", tag)
            .Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/invoices/{id}/pay", PaymentEndpoints.PayInvoice)
            .Doc("payInvoice", "Charge an open invoice's amount_due (the given method or the default) → paid; a refused charge → 402 and the invoice stays open", tag)
            .Body<PaymentEndpoints.PayInvoiceRequest>().Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(402, 404);
        v1.MapPost("/invoices/{id}/void", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => VoidInvoice.Execute(s, op, id), i => new Reply(200, i)))
            .Doc("voidInvoice", "Open (or draft) → void; an open invoice's ledger entry is reversed; paid → 409", tag)
            .Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/invoices/{id}/mark_uncollectible", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => MarkInvoiceUncollectible.Execute(s, op, id), i => new Reply(200, i)))
            .Doc("markInvoiceUncollectible", "Open → uncollectible; the invoice's ledger entry is reversed (it leaves receivables); anything else → 409", tag)
            .Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/invoices/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetInvoice.Execute(s, t, id)))
            .Doc("getInvoice", "An invoice with its lines", tag)
            .Produces<InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/invoices", (HttpContext http, Api api, string? customer_id, string? status, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListInvoices.Execute(s, t, customer_id, status, page)))
            .Doc("listInvoices", "Invoices newest first, optionally of one customer or status", tag)
            .Produces<ListResource<InvoiceResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
    }
}
