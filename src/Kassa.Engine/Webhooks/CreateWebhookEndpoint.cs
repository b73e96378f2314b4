using System.Security.Cryptography;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Webhooks;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// <c>POST /v1/webhook_endpoints</c>: the signing secret is in this answer only. Refused with
/// <c>409 limit_reached</c> when the tenant already has <see cref="DispatchEvents.EndpointsPerTenantMax"/> enabled endpoints.
/// </summary>
public static class CreateWebhookEndpoint
{
    public const int SecretBytes = 32;

    public sealed record Request(string? Url, List<string>? Events, string? Description);

    public static async Task<Result<WebhookEndpointRecord>> Execute(IStoreSession session, OperationContext op, Request request)
    {
        if (request.Url is null) return KassaError.Missing("url");
        if (request.Events is null) return KassaError.Missing("events");
        var errors = new List<FieldError>();
        WebhookEndpointInput.CheckUrl(request.Url, op.Tenant.Livemode, errors);
        WebhookEndpointInput.CheckEvents(request.Events, errors);
        WebhookEndpointInput.CheckDescription(request.Description, errors);
        if (errors.Count > 0) return KassaError.Validation(errors);
        if (await WebhookEndpointLimit.CheckRoomForOneMore(session, op.Tenant, "url") is { } full) return full;

        var endpoint = new WebhookEndpointRecord(
            op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.WebhookEndpoint), request.Url, request.Description,
            request.Events.Distinct(StringComparer.Ordinal).ToList(), WebhookSecret.Generate(RandomNumberGenerator.GetBytes(SecretBytes)),
            null, null, false, null, null, null, op.Now, op.Now);
        await session.Webhooks.InsertEndpointAsync(endpoint);
        await RecordAudit.Execute(session, op, "webhook_endpoint.created", "webhook_endpoint", endpoint.Id, ["url", "events", "description"]);
        return endpoint;
    }
}
