using Kassa.Engine.Events;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Engine.Webhooks;
using Kassa.Server.Http;
using Kassa.Server.Workers;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §10: events and webhook endpoints.</summary>
public static class EventEndpoints
{
    public sealed record ResendResult(string EventId, int Queued)
    {
        public string Object => "event_resend";
    }

    public static void Map(RouteGroupBuilder v1)
    {
        const string events = "Events";
        v1.MapGet("/events", (HttpContext http, Api api, string? type, string? object_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListEvents.Execute(s, t, new EventFilter(type, object_id), page)))
            .Doc("listEvents", "List events, newest first", events)
            .Produces<ListResource<EventResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);

        v1.MapGet("/events/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetEvent.Execute(s, t, id)))
            .Doc("getEvent", "Retrieve an event", events)
            .Produces<EventResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPost("/events/{id}/resend", (HttpContext http, Api api, WebhookSignal signal, string id) =>
                api.Mutate<ResendEvent.Request, ResendEvent.Outcome>(http, (s, op, b) => ResendEvent.Execute(s, op, id, b),
                    o => { signal.Poke(); return new Reply(200, new ResendResult(o.Event.Id, o.Queued)); }))
            .Doc("resendEvent", "Deliver an event again to its endpoints (or to endpoint_id)", events)
            .Body<ResendEvent.Request>().Produces<ResendResult>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string hooks = "Webhook endpoints";
        v1.MapPost("/webhook_endpoints", (HttpContext http, Api api) =>
                api.Mutate<CreateWebhookEndpoint.Request, WebhookEndpointRecord>(http, CreateWebhookEndpoint.Execute,
                    e => new Reply(StatusCodes.Status201Created, WebhookEndpointResource.From(e, withSecret: true))))
            .Doc("createWebhookEndpoint", "Create a webhook endpoint; the signing secret is shown once", hooks)
            .Body<CreateWebhookEndpoint.Request>().Produces<WebhookEndpointResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();

        v1.MapGet("/webhook_endpoints", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListWebhookEndpoints.Execute))
            .Doc("listWebhookEndpoints", "List webhook endpoints", hooks)
            .Produces<ListResource<WebhookEndpointResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);

        v1.MapGet("/webhook_endpoints/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => ListWebhookEndpoints.One(s, t, id)))
            .Doc("getWebhookEndpoint", "Retrieve a webhook endpoint", hooks)
            .Produces<WebhookEndpointResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPatch("/webhook_endpoints/{id}", (HttpContext http, Api api, WebhookSignal signal, string id) =>
                api.Mutate<UpdateWebhookEndpoint.Request, WebhookEndpointRecord>(http, (s, op, b) => UpdateWebhookEndpoint.Execute(s, op, id, b),
                    e => { signal.Poke(); return new Reply(200, WebhookEndpointResource.From(e)); }))
            .Doc("updateWebhookEndpoint", "Update url, events, description or disabled", hooks)
            .Body<UpdateWebhookEndpoint.Request>().Produces<WebhookEndpointResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapDelete("/webhook_endpoints/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => DeleteWebhookEndpoint.Execute(s, op, id), e => new Reply(200, new DeletedResource(e.Id, "webhook_endpoint", true))))
            .Doc("deleteWebhookEndpoint", "Delete a webhook endpoint", hooks)
            .Produces<DeletedResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapPost("/webhook_endpoints/{id}/rotate_secret", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => RotateWebhookSecret.Execute(s, op, id), e => new Reply(200, WebhookEndpointResource.From(e, withSecret: true))))
            .Doc("rotateWebhookSecret", "Replace the signing secret; the old one keeps signing for 24 hours", hooks)
            .Produces<WebhookEndpointResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapGet("/webhook_endpoints/{id}/deliveries", (HttpContext http, Api api, string id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListWebhookDeliveries.Execute(s, t, id, page)))
            .Doc("listWebhookDeliveries", "List delivery attempts to an endpoint, newest first", hooks)
            .Produces<ListResource<WebhookDeliveryResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);
    }
}
