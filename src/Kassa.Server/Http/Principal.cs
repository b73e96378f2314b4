using Kassa.Core.Keys;
using Kassa.Engine.Common;

namespace Kassa.Server.Http;

/// <summary>The authenticated caller of one request.</summary>
public sealed record Principal(string KeyId, Tenant Tenant, KeyKind Kind, string? CustomerId = null)
{
    public Actor Actor => Actor.ApiKey(KeyId);
}

/// <summary>
/// Which key kinds may call an endpoint. Endpoints without this metadata accept secret keys only,
/// so a new endpoint is closed to publishable keys and customer sessions until it opts in.
/// </summary>
public sealed class AllowedKeys(params KeyKind[] kinds)
{
    public IReadOnlyList<KeyKind> Kinds { get; } = kinds;
}

public static class PrincipalExtensions
{
    public static Principal Principal(this HttpContext http) =>
        http.Features.Get<Principal>() ?? throw new InvalidOperationException("endpoint reached without authentication");

    public static RouteHandlerBuilder AllowKeys(this RouteHandlerBuilder builder, params KeyKind[] kinds) =>
        builder.WithMetadata(new AllowedKeys(kinds));
}
