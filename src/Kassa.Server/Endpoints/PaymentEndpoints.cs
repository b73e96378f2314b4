using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Invoices;
using Kassa.Engine.Payments;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>
/// Spec §8 sandbox payments: payment methods (test mode), payments, refunds, and paying an invoice.
/// Money-moving calls run in two steps through <see cref="Api.MutateInSteps{TBody}"/>: the attempt
/// commits before the provider is called with its id as idempotency key.
/// </summary>
public static class PaymentEndpoints
{
    public sealed record RefundRequest(long? Amount);

    public sealed record PayInvoiceRequest(string? PaymentMethodId);

    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Payments";
        v1.MapPost("/payment_methods", (HttpContext http, Api api, PaymentProviders providers) =>
                api.Mutate<AttachPaymentMethod.Request, PaymentMethodResource>(http, (s, op, b) => AttachPaymentMethod.Execute(s, op, providers, b, CancellationToken.None),
                    m => new Reply(StatusCodes.Status201Created, m)))
            .Doc("attachPaymentMethod", "Save a card for a customer (test mode, sandbox provider); the first becomes the default; a refused card → 402", tag)
            .Body<AttachPaymentMethod.Request>().Produces<PaymentMethodResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(402, 404);
        v1.MapGet("/payment_methods/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetPaymentMethod.Execute(s, t, id)))
            .Doc("getPaymentMethod", "A payment method (its card's brand, last 4 digits and expiry; never the number)", tag)
            .Produces<PaymentMethodResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapDelete("/payment_methods/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => DetachPaymentMethod.Execute(s, op, id), m => new Reply(200, m)))
            .Doc("detachPaymentMethod", "Detach a method; if it was the default the customer has none afterwards", tag)
            .Produces<PaymentMethodResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/customers/{id}/payment_methods", (HttpContext http, Api api, string id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListPaymentMethods.Execute(s, t, id, page)))
            .Doc("listCustomerPaymentMethods", "A customer's attached payment methods, newest first", tag)
            .Produces<ListResource<PaymentMethodResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);
        v1.MapPost("/customers/{id}/default_payment_method", (HttpContext http, Api api, string id) =>
                api.Mutate<SetDefaultPaymentMethod.Request, CustomerResource>(http, (s, op, b) => SetDefaultPaymentMethod.Execute(s, op, id, b), c => new Reply(200, c)))
            .Doc("setDefaultPaymentMethod", "Make one of the customer's methods the default for charges; answers the customer", tag)
            .Body<SetDefaultPaymentMethod.Request>().Produces<CustomerResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapPost("/payments", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers) =>
                api.MutateInSteps<CreatePayment.Request>(http, (s, op, b, key) => CreatePayment.BeginAsync(s, op, b, key),
                    async (op, paymentId) =>
                    {
                        var done = await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, CancellationToken.None);
                        if (!done.IsOk) return done.Error!;
                        var payment = await store.ReadAsync(s => GetPayment.Execute(s, op.Tenant, paymentId));
                        return payment.IsOk ? new Reply(StatusCodes.Status201Created, payment.Value) : payment.Error!;
                    }))
            .Doc("createPayment", "Charge a saved method for an open invoice, or for an amount (a one-time invoice is made and finalized for it); the status tells the outcome", tag)
            .Body<CreatePayment.Request>().Produces<PaymentResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/payments/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetPayment.Execute(s, t, id)))
            .Doc("getPayment", "A payment", tag)
            .Produces<PaymentResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/payments", (HttpContext http, Api api, string? customer_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListPayments.Execute(s, t, customer_id, page)))
            .Doc("listPayments", "Payments newest first, optionally of one customer", tag)
            .Produces<ListResource<PaymentResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/payments/{id}/refunds", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers, string id) =>
                api.MutateInSteps<RefundRequest>(http, (s, op, b, key) => RefundPayment.BeginAsync(s, op, id, b.Amount, null, key),
                    async (op, refundId) =>
                    {
                        var done = await RefundPayment.CompleteAsync(store, providers, op, refundId, CancellationToken.None);
                        if (!done.IsOk) return done.Error!;
                        var refund = await store.ReadAsync(async s => await s.Payments.GetRefundAsync(op.Tenant, refundId));
                        return new Reply(StatusCodes.Status201Created, RefundResource.From(refund!));
                    }))
            .Doc("refundPayment", "Refund part (amount) or all that is left of a payment; never more than was paid and not yet refunded (409)", tag)
            .Body<RefundRequest>().Produces<RefundResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
    }

    /// <summary>
    /// <c>POST /v1/invoices/{id}/pay</c> (mapped with the invoices): charges the open invoice's
    /// <c>amount_due</c> and answers the paid invoice; a charge that fails or needs the customer answers
    /// 402 (<c>card_declined</c>, <c>insufficient_funds</c>, <c>requires_action</c>) naming the payment,
    /// and the invoice stays open.
    /// </summary>
    public static Task PayInvoice(HttpContext http, Api api, IKassaStore store, PaymentProviders providers, string id) =>
        api.MutateInSteps<PayInvoiceRequest>(http, (s, op, b, key) => ChargeInvoice.BeginAsync(s, op, id, b.PaymentMethodId, key),
            async (op, paymentId) =>
            {
                var done = await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, CancellationToken.None);
                if (!done.IsOk) return done.Error!;
                var outcome = done.Value;
                if (outcome.Status is PaymentStatuses.Succeeded or PaymentStatuses.Refunded or PaymentStatuses.PartiallyRefunded)
                {
                    var invoice = await store.ReadAsync(s => GetInvoice.Execute(s, op.Tenant, id));
                    return invoice.IsOk ? new Reply(StatusCodes.Status200OK, invoice.Value) : invoice.Error!;
                }
                if (outcome.Status == PaymentStatuses.Processing)
                    return new KassaError(ErrorCodes.ProviderUnavailable,
                        $"The provider did not answer for payment '{outcome.PaymentId}' of invoice '{id}'; it stays processing and is completed by a retry with the same Idempotency-Key or by the reconcile worker");
                var code = outcome.Status == PaymentStatuses.RequiresAction ? ErrorCodes.RequiresAction
                    : outcome.FailureCode == ErrorCodes.InsufficientFunds ? ErrorCodes.InsufficientFunds : ErrorCodes.CardDeclined;
                return new KassaError(code, $"Payment '{outcome.PaymentId}' of invoice '{id}' {outcome.Status}: {outcome.FailureMessage ?? outcome.FailureCode}; the invoice stays open",
                    "payment_method_id");
            });
}
