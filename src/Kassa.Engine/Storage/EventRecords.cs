namespace Kassa.Engine.Storage;

/// <summary>An event in the outbox. <see cref="Data"/> is the JSON of <c>{"object": …, "previous_attributes": …}</c>.</summary>
public sealed record EventRecord(
    string AccountId, bool Livemode, string Id, string Type, string ObjectType, string ObjectId, string Data,
    string? RequestId, DateTimeOffset CreatedAt, long Seq = 0);

public sealed record WebhookEndpointRecord(
    string AccountId, bool Livemode, string Id, string Url, string? Description, IReadOnlyList<string> Events,
    string Secret, string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt, bool Disabled, string? DisabledReason,
    DateTimeOffset? FailingSince, DateTimeOffset? DeletedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public bool Matches(string eventType) => Events.Any(e => e == "*" || e == eventType);
}

/// <summary>One queued delivery claimed by a worker, with what it needs to send it.</summary>
public sealed record ClaimedDelivery(
    long QueueId, string AccountId, bool Livemode, string EndpointId, string EventId, string EventType, string Lease, int AttemptsMade,
    string Url, string Secret, string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt, DateTimeOffset? FailingSince, EventRecord Event);

/// <summary>One delivery attempt, as listed by <c>GET /v1/webhook_endpoints/{id}/deliveries</c>.</summary>
public sealed record WebhookAttemptRecord(
    string AccountId, bool Livemode, string Id, string EndpointId, string EventId, string EventType, int Attempt, int? StatusCode,
    long DurationMs, string? Error, bool Succeeded, DateTimeOffset? NextRetryAt, DateTimeOffset CreatedAt);

public sealed record EventFilter(string? Type, string? ObjectId);
