using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §11: the audit log of every mutation.</summary>
public static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/audit_events", (HttpContext http, Api api, string? object_id, string? actor, string? from, string? to, string? limit, string? starting_after) =>
            {
                if (ParseTime("from", from) is { IsOk: false } badFrom) return ApiResponses.WriteError(http, badFrom.Error!);
                if (ParseTime("to", to) is { IsOk: false } badTo) return ApiResponses.WriteError(http, badTo.Error!);
                var filter = new AuditFilter(object_id, actor, ParseTime("from", from).Value, ParseTime("to", to).Value);
                return EndpointConventions.ListPage(http, api, limit, starting_after, (s, tenant, page) => ListAuditEvents.Execute(s, tenant, filter, page));
            })
            .Doc("listAuditEvents", "List audit events, newest first (from inclusive, to exclusive)", "Audit")
            .Produces<ListResource<AuditEventResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .Errors(400);
    }

    public static Result<DateTimeOffset?> ParseTime(string param, string? value)
    {
        if (value is null) return (DateTimeOffset?)null;
        // Strict RFC 3339: an offset is required, so a time never silently means the server's zone.
        if (Kassa.Core.Metering.Rfc3339.TryParse(value, out var t)) return (DateTimeOffset?)t;
        return KassaError.Validation(param, Kassa.Engine.Json.UtcTimestampConverter.Rule);
    }
}
