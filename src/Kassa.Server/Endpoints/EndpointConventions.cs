using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Endpoint metadata: the type of the JSON body, read by the OpenAPI document.</summary>
public sealed record JsonRequestBody(Type Type);

/// <summary>OpenAPI annotations shared by endpoints, so every operation documents its errors the same way.</summary>
public static class EndpointConventions
{
    public static RouteHandlerBuilder Doc(this RouteHandlerBuilder builder, string operationId, string summary, string tag) =>
        builder.WithName(operationId).WithSummary(summary).WithTags(tag);

    /// <summary>
    /// Documents the JSON request body. Not <c>Accepts&lt;T&gt;()</c>: that also makes routing refuse
    /// requests whose Content-Type is not JSON with a bare 415, while the API reads every body as JSON.
    /// </summary>
    public static RouteHandlerBuilder Body<T>(this RouteHandlerBuilder builder) => builder.WithMetadata(new JsonRequestBody(typeof(T)));

    /// <summary>
    /// Documents the error envelope for the given statuses plus the ones every /v1 call can answer:
    /// 401/403 (keys), 429 (rate limit) and 500 (a bug, still answered with the envelope and a request id).
    /// </summary>
    public static RouteHandlerBuilder Errors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        // What every /v1 operation may answer whatever it does: a malformed header or unstorable path or
        // query (400), no or a bad key (401), the wrong kind of key (403), a URL or headers past the
        // limits (414, 431), the rate limit or a full queue (429), a bug (500), and a server that is
        // stopping or cannot reach its database (503).
        foreach (var status in statuses.Concat([400, 401, 403, 414, 429, 431, 500, 503]).Distinct().Order())
            builder.Produces<ErrorEnvelope>(status, ApiResponses.JsonContentType);
        return builder;
    }

    /// <summary>Mutations also answer the idempotency conflicts of spec §1.3.</summary>
    public static RouteHandlerBuilder MutationErrors(this RouteHandlerBuilder builder, params int[] statuses) =>
        builder.Errors([.. statuses, 400, 409, 413, 422]);

    /// <summary>Validates the page parameters, runs a list use case and answers the list envelope.</summary>
    public static Task ListPage<T>(HttpContext http, Api api, string? limit, string? startingAfter,
        Func<Kassa.Engine.Storage.IStoreSession, Tenant, PageRequest, Task<Kassa.Core.Errors.Result<Kassa.Core.Paging.Page<T>>>> list)
    {
        var page = PageRequest.Parse(limit, startingAfter);
        if (!page.IsOk) return ApiResponses.WriteError(http, page.Error!);
        return api.Read(http, async (s, tenant) =>
        {
            var result = await list(s, tenant, page.Value);
            return result.IsOk
                ? Kassa.Core.Errors.Result<ListResource<T>>.Ok(new ListResource<T>(result.Value.Data, result.Value.HasMore, result.Value.NextCursor))
                : Kassa.Core.Errors.Result<ListResource<T>>.Fail(result.Error!);
        });
    }
}
