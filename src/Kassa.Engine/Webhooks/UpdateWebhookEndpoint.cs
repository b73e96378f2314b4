using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>
/// <c>PATCH /v1/webhook_endpoints/{id}</c>: url, events, description, disabled. Re-enabling an endpoint
/// clears its failure streak; deliveries still queued for it resume in order. Re-enabling is refused
/// with <c>409 limit_reached</c> when the tenant already has the most enabled endpoints allowed.
/// </summary>
public static class UpdateWebhookEndpoint
{
    public sealed record Request(Optional<string> Url, Optional<List<string>> Events, Optional<string> Description, Optional<bool?> Disabled);

    public static async Task<Result<WebhookEndpointRecord>> Execute(IStoreSession session, OperationContext op, string id, Request request)
    {
        var errors = new List<FieldError>();
        if (request.Url.IsSet)
        {
            if (request.Url.Value is null) errors.Add(new FieldError("url", "must not be null"));
            else WebhookEndpointInput.CheckUrl(request.Url.Value, op.Tenant.Livemode, errors);
        }
        if (request.Events.IsSet)
        {
            if (request.Events.Value is null) errors.Add(new FieldError("events", "must not be null"));
            else WebhookEndpointInput.CheckEvents(request.Events.Value, errors);
        }
        WebhookEndpointInput.CheckDescription(request.Description.Value, errors);
        if (request.Disabled.IsSet && request.Disabled.Value is null) errors.Add(new FieldError("disabled", "must be true or false"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var existing = await session.Webhooks.GetEndpointAsync(op.Tenant, id, forUpdate: true);
        if (existing is null) return KassaError.NotFound("webhook_endpoint", id);
        var disabled = request.Disabled.IsSet ? request.Disabled.Value!.Value : existing.Disabled;
        if (existing.Disabled && !disabled && await WebhookEndpointLimit.CheckRoomForOneMore(session, op.Tenant, "disabled") is { } full) return full;
        var updated = existing with
        {
            Url = request.Url.Value ?? existing.Url,
            Events = request.Events.Value?.Distinct(StringComparer.Ordinal).ToList() ?? existing.Events,
            Description = request.Description.Or(existing.Description),
            Disabled = disabled,
            DisabledReason = disabled ? (request.Disabled.IsSet ? "disabled_by_user" : existing.DisabledReason) : null,
            FailingSince = disabled == existing.Disabled ? existing.FailingSince : null,
            UpdatedAt = op.Now,
        };
        var changed = new List<string>();
        if (updated.Url != existing.Url) changed.Add("url");
        if (!updated.Events.SequenceEqual(existing.Events)) changed.Add("events");
        if (updated.Description != existing.Description) changed.Add("description");
        if (updated.Disabled != existing.Disabled) changed.Add("disabled");
        if (changed.Count == 0) return existing;
        await session.Webhooks.UpdateEndpointAsync(updated);
        await RecordAudit.Execute(session, op, "webhook_endpoint.updated", "webhook_endpoint", id, changed);
        return updated;
    }
}
