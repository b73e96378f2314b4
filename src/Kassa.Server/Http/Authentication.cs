using Kassa.Core.Errors;
using Kassa.Core.Keys;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Server.Http;

/// <summary>
/// Authenticates every <c>/v1</c> request (spec §1.1), then checks the endpoint's key kinds and the
/// key's rate limit. Runs after routing so the endpoint's metadata is known.
/// </summary>
public sealed class Authentication(RequestDelegate next, IKassaStore store, KeyCache cache, RateLimits limits, TimeProvider time)
{
    private static readonly AllowedKeys SecretOnly = new(KeyKind.Secret);

    public async Task InvokeAsync(HttpContext http)
    {
        if (!http.Request.Path.StartsWithSegments("/v1"))
        {
            await next(http);
            return;
        }
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.Length == 0 && http.GetEndpoint()?.Metadata.GetMetadata<Kassa.Server.Endpoints.SignedTokenAccess>() is not null)
        {
            // A page reachable through a signed link (the hosted invoice page): its handler checks the token.
            await next(http);
            return;
        }
        if (authorization.Length == 0)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.MissingApiKey,
                "No API key provided. Send it as 'Authorization: Bearer sk_test_…'."));
            return;
        }
        var raw = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
        if (raw is null || ApiKeyFormat.Shape(raw) is not { } shape)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.InvalidApiKey, "The API key is not valid. Send it as 'Authorization: Bearer <key>'."));
            return;
        }
        if (shape.Kind == KeyKind.CustomerSession)
        {
            // Customer session tokens arrive with the customer-session capability; until then none exist.
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.InvalidApiKey, "Unknown customer session token"));
            return;
        }
        var hash = ApiKeyFormat.Hash(raw);
        var key = cache.Get(hash);
        if (key is null)
        {
            key = await store.ReadAsync(s => s.ApiKeys.FindByHashAsync(hash), http.RequestAborted);
            if (key is not null) cache.Put(hash, key);
        }
        if (key is null || key.RevokedAt is { } revoked && revoked <= time.GetUtcNow())
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.InvalidApiKey, "The API key is unknown or revoked"));
            return;
        }
        var principal = new Principal(key.Id, new Tenant(key.AccountId, key.Livemode), shape.Kind);
        http.Features.Set(principal);
        http.Items[RequestLog.KeyIdItem] = key.Id;

        var allowed = http.GetEndpoint()?.Metadata.GetMetadata<AllowedKeys>() ?? SecretOnly;
        if (!allowed.Kinds.Contains(shape.Kind) && http.GetEndpoint() is not null)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.KeyNotAllowed,
                $"A {KindName(shape.Kind)} key may not call {http.Request.Method} {http.Request.Path}"));
            return;
        }
        if (limits.TryAcquire(key.Id) is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.RateLimited, "Too many requests for this API key; retry after the time in Retry-After"));
            return;
        }
        await next(http);
    }

    private static string KindName(KeyKind kind) => kind switch
    {
        KeyKind.Secret => "secret",
        KeyKind.Publishable => "publishable",
        _ => "customer session",
    };
}
