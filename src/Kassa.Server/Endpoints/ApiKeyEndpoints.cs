using Kassa.Engine.ApiKeys;
using Kassa.Engine.Resources;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §11: API keys of the caller's account and mode.</summary>
public static class ApiKeyEndpoints
{
    private const string Tag = "API keys";

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapPost("/api_keys", (HttpContext http, Api api) =>
                api.Mutate<CreateApiKey.Request, CreatedApiKeyResource>(http, CreateApiKey.Execute, k => new Reply(StatusCodes.Status201Created, k)))
            .Doc("createApiKey", "Create an API key (the raw key is shown once)", Tag)
            .Body<CreateApiKey.Request>()
            .Produces<CreatedApiKeyResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType)
            .MutationErrors();

        v1.MapGet("/api_keys", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListApiKeys.Execute))
            .Doc("listApiKeys", "List API keys (masked)", Tag)
            .Produces<ListResource<ApiKeyResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .Errors(400);

        v1.MapPost("/api_keys/{id}/revoke", async (HttpContext http, Api api, KeyCache cache, string id) =>
            {
                await api.Mutate(http, (s, op) => RevokeApiKey.Execute(s, op, id), k => new Reply(StatusCodes.Status200OK, ApiKeyResource.From(k)));
                cache.Forget(id);
            })
            .Doc("revokeApiKey", "Revoke an API key", Tag)
            .Produces<ApiKeyResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);
    }
}
