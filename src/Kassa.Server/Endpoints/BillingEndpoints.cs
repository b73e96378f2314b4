using Kassa.Core.Keys;
using Kassa.Engine.Coupons;
using Kassa.Engine.CreditNotes;
using Kassa.Engine.CustomerCredit;
using Kassa.Engine.Resources;
using Kassa.Engine.TaxRates;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §7 coupons, tax rates, credit notes and the customer credit balance.</summary>
public static class BillingEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string coupons = "Coupons";
        v1.MapPost("/coupons", (HttpContext http, Api api) =>
                api.Mutate<CreateCoupon.Request, CouponResource>(http, CreateCoupon.Execute, c => new Reply(StatusCodes.Status201Created, c)))
            .Doc("createCoupon", "Create a coupon (percentage, fixed or trial extension; once, repeating or forever) under a code unique in the account", coupons)
            .Body<CreateCoupon.Request>().Produces<CouponResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();
        v1.MapPost("/coupons/validate", async (HttpContext http, Api api, TimeProvider time) =>
            {
                var body = await api.ReadBody<ValidateCoupon.Request>(http);
                if (body is not null) await api.Read(http, (s, t) => ValidateCoupon.Execute(s, t, time.GetUtcNow(), body));
            })
            .Doc("validateCoupon", "What a code takes off an amount of a product, with no effect; a code that does not apply is valid: false with a reason (publishable key allowed)", coupons)
            .AllowKeys(KeyKind.Secret, KeyKind.Publishable)
            .Body<ValidateCoupon.Request>().Produces<ValidateCoupon.Response>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 413);
        v1.MapGet("/coupons/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetCoupon.Execute(s, t, id)))
            .Doc("getCoupon", "A coupon with how often it was redeemed", coupons)
            .Produces<CouponResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/coupons", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListCoupons.Execute))
            .Doc("listCoupons", "Coupons newest first", coupons)
            .Produces<ListResource<CouponResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/coupons/{id}/archive", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ArchiveCoupon.Execute(s, op, id), c => new Reply(200, c)))
            .Doc("archiveCoupon", "Archive a coupon: its code no longer applies to new invoices or redemptions", coupons)
            .Produces<CouponResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string taxRates = "Tax rates";
        v1.MapPost("/tax_rates", (HttpContext http, Api api) =>
                api.Mutate<CreateTaxRate.Request, TaxRateResource>(http, CreateTaxRate.Execute, t => new Reply(StatusCodes.Status201Created, t)))
            .Doc("createTaxRate", "Create a tax rate for a country or one state of it, exclusive or inclusive; applied at finalize by the customer's address", taxRates)
            .Body<CreateTaxRate.Request>().Produces<TaxRateResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();
        v1.MapGet("/tax_rates/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetTaxRate.Execute(s, t, id)))
            .Doc("getTaxRate", "A tax rate", taxRates)
            .Produces<TaxRateResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/tax_rates", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListTaxRates.Execute))
            .Doc("listTaxRates", "Tax rates newest first, archived included", taxRates)
            .Produces<ListResource<TaxRateResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/tax_rates/{id}/archive", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ArchiveTaxRate.Execute(s, op, id), t => new Reply(200, t)))
            .Doc("archiveTaxRate", "Archive a tax rate: invoices finalized from now on no longer use it", taxRates)
            .Produces<TaxRateResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string creditNotes = "Credit notes";
        v1.MapPost("/credit_notes", (HttpContext http, Api api) =>
                api.Mutate<CreateCreditNote.Request, CreditNoteResource>(http, CreateCreditNote.Execute, n => new Reply(StatusCodes.Status201Created, n)))
            .Doc("createCreditNote", "Credit an open or paid invoice: lowers what is due, adds customer credit, or refunds the payment", creditNotes)
            .Body<CreateCreditNote.Request>().Produces<CreditNoteResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/credit_notes/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetCreditNote.Execute(s, t, id)))
            .Doc("getCreditNote", "A credit note", creditNotes)
            .Produces<CreditNoteResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/credit_notes", (HttpContext http, Api api, string? invoice_id, string? customer_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListCreditNotes.Execute(s, t, invoice_id, customer_id, page)))
            .Doc("listCreditNotes", "Credit notes newest first, optionally of one invoice or customer", creditNotes)
            .Produces<ListResource<CreditNoteResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/credit_notes/{id}/void", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => VoidCreditNote.Execute(s, op, id), n => new Reply(200, n)))
            .Doc("voidCreditNote", "Void a credit note while its credit is unused: its entry is reversed; used credit or a refund that went out → 409", creditNotes)
            .Produces<CreditNoteResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapGet("/customers/{id}/credit_balance", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetCreditBalance.Execute(s, t, id)))
            .Doc("getCustomerCreditBalance", "What the account owes the customer, per currency, with the newest transactions", creditNotes)
            .Produces<CreditBalanceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapPost("/customers/{id}/credit_balance/adjustments", (HttpContext http, Api api, string id) =>
                api.Mutate<AdjustCreditBalance.Request, CreditBalanceResource>(http, (s, op, b) => AdjustCreditBalance.Execute(s, op, id, b), b => new Reply(200, b)))
            .Doc("adjustCustomerCreditBalance", "Grant (positive) or remove (negative, never below 0) customer credit; posted DR 4950 / CR 2000 or its mirror", creditNotes)
            .Body<AdjustCreditBalance.Request>().Produces<CreditBalanceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
    }
}
