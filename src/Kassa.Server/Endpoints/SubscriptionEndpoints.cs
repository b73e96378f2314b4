using Kassa.Core.Errors;
using Kassa.Engine.Payments;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §4: subscribe and the subscription lifecycle.</summary>
public static class SubscriptionEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Subscriptions";
        v1.MapPost("/subscribe", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers) =>
                api.MutateThen<Subscribe.Request, Subscribe.Started, Subscribe.Response>(http, Subscribe.Execute,
                    (started, op, ct) => Subscribe.FinishAsync(store, providers, op, started, ct), r => new Reply(200, r)))
            .Doc("subscribe", "Attach a product to a customer: free → active; trial → trialing; paid → first invoice finalized and charged now", tag)
            .Body<Subscribe.Request>().Produces<Subscribe.Response>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(402, 404);
        v1.MapPost("/subscribe/preview", async (HttpContext http, Api api) =>
            {
                if (await api.ReadBody<Subscribe.Request>(http) is { } body)
                    await api.Preview(http, (s, op) => PreviewSubscribe.Execute(s, op, body));
            })
            .Doc("previewSubscribe", "What subscribing with the same body would bill now (lines, discount, tax, total, due now), with no effect", tag)
            .Body<Subscribe.Request>().Produces<PreviewSubscribe.Preview>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(402, 404, 409, 422);
        v1.MapGet("/invoices/upcoming", (HttpContext http, Api api, string? subscription_id) =>
                api.Preview(http, (s, op) => GetUpcomingInvoice.Execute(s, op, subscription_id)))
            .Doc("getUpcomingInvoice", "The invoice the subscription's next renewal would make, computed now (a draft without a number; not stored)", "Invoices")
            .Produces<Kassa.Engine.Invoices.InvoiceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404, 409);
        v1.MapGet("/subscriptions/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => ReadSubscriptions.Get(s, t, id)))
            .Doc("getSubscription", "A subscription", tag)
            .Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/subscriptions", (HttpContext http, Api api, string? customer_id, string? status, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ReadSubscriptions.List(s, t, customer_id, status, page)))
            .Doc("listSubscriptions", "Subscriptions newest first, optionally of one customer or status", tag)
            .Produces<ListResource<SubscriptionResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/subscriptions/{id}/cancel", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers, string id) =>
                api.MutateThen<CancelSubscription.Request, CancelSubscription.Done, SubscriptionResource>(http,
                    (s, op, body) => CancelSubscription.Execute(s, op, id, body),
                    async (done, op, ct) =>
                    {
                        // The final invoice's charge and the refund run after the commit; the payments
                        // reconcile completes them if this process stops first.
                        if (done.At is { } at) op = op.At(at);
                        if (done.PaymentId is { } paymentId) await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, ct);
                        if (done.RefundId is { } refundId) await RefundPayment.CompleteAsync(store, providers, op, refundId, ct);
                        return Result<SubscriptionResource>.Ok(done.Subscription);
                    }, r => new Reply(200, r)))
            .Doc("cancelSubscription", "Cancel at the period end (default) or now; now can refund the unused time as customer credit or to the card", tag)
            .Body<CancelSubscription.Request>().Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPatch("/subscriptions/{id}", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers, string id) =>
                api.MutateThen<UpdateSubscriptionQuantity.Request, UpdateSubscriptionQuantity.Done, SubscriptionResource>(http,
                    (s, op, body) => UpdateSubscriptionQuantity.Execute(s, op, id, body),
                    async (done, op, ct) =>
                    {
                        if (done.At is { } at) op = op.At(at);
                        if (done.PaymentId is { } paymentId) await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, ct);
                        return Result<SubscriptionResource>.Ok(done.Subscription);
                    }, r => new Reply(200, r)))
            .Doc("updateSubscription", "Change the quantity: more is granted and charged now for the rest of the period; fewer takes effect at the renewal", tag)
            .Body<UpdateSubscriptionQuantity.Request>().Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/subscriptions/{id}/uncancel", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => UncancelSubscription.Execute(s, op, id), r => new Reply(200, r)))
            .Doc("uncancelSubscription", "Undo a pending cancel at the period end", tag)
            .Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/subscriptions/{id}/pause", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => PauseSubscription.Pause(s, op, id), r => new Reply(200, r)))
            .Doc("pauseSubscription", "Pause: no renewals while paused", tag)
            .Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/subscriptions/{id}/resume", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => PauseSubscription.Resume(s, op, id), r => new Reply(200, r)))
            .Doc("resumeSubscription", "Resume a paused subscription; a period that ended while paused restarts now", tag)
            .Produces<SubscriptionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
    }
}
