using Kassa.Engine.Disputes;
using Kassa.Engine.Resources;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Issue 13 item 4: disputes (chargebacks), opened and moved by provider events; read-only here.</summary>
public static class DisputeEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Disputes";
        v1.MapGet("/disputes", (HttpContext http, Api api, string? payment_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListDisputes.Execute(s, t, payment_id, page)))
            .Doc("listDisputes", "Disputes newest first, optionally of one payment", tag)
            .Produces<ListResource<DisputeResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapGet("/disputes/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetDispute.Execute(s, t, id)))
            .Doc("getDispute", "A dispute", tag)
            .Produces<DisputeResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
    }
}
