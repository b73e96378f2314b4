using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>A webhook endpoint. <see cref="Secret"/> is present only in the answers to create and rotate.</summary>
public sealed record WebhookEndpointResource(
    string Id, string Url, string? Description, IReadOnlyList<string> Events, string Status, string? DisabledReason, bool Livemode,
    DateTimeOffset CreatedAt, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret = null)
{
    [JsonPropertyOrder(-1)] public string Object => "webhook_endpoint";

    public static WebhookEndpointResource From(WebhookEndpointRecord e, bool withSecret = false) =>
        new(e.Id, e.Url, e.Description, e.Events, e.Disabled ? "disabled" : "enabled", e.DisabledReason, e.Livemode, e.CreatedAt,
            withSecret ? e.Secret : null);
}

/// <summary>One delivery attempt of an event to an endpoint.</summary>
public sealed record WebhookDeliveryResource(
    string Id, string EndpointId, string EventId, string EventType, int Attempt, int? StatusCode, long DurationMs, string? Error,
    bool Succeeded, DateTimeOffset? NextRetryAt, DateTimeOffset CreatedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "webhook_delivery";

    public static WebhookDeliveryResource From(WebhookAttemptRecord a) =>
        new(a.Id, a.EndpointId, a.EventId, a.EventType, a.Attempt, a.StatusCode, a.DurationMs, a.Error, a.Succeeded, a.NextRetryAt, a.CreatedAt, a.Livemode);
}
