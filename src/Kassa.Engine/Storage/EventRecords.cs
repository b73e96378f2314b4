namespace Kassa.Engine.Storage;

/// <summary>An event in the outbox. <see cref="Data"/> is the JSON of <c>{"object": …, "previous_attributes": …}</c>.</summary>
public sealed record EventRecord(
    string AccountId, bool Livemode, string Id, string Type, string ObjectType, string ObjectId, string Data,
    string? RequestId, DateTimeOffset CreatedAt, long Seq = 0)
{
    /// <summary>What fanning this event out to endpoints needs of it.</summary>
    public QueuedEvent Queued => new(Seq, AccountId, Livemode, Id, Type, ObjectId, CreatedAt);
}

/// <summary>
/// An event waiting in the outbox, without its data: the dispatcher fans it out by type and creation time (and queues
/// it under its object, for delivery in order per object); a delivery reads the data when it sends. A dispatch round
/// reads up to 500 of these under SQLite's write lock, and their JSON was most of the bytes it read while every write waited.
/// </summary>
public sealed record QueuedEvent(long Seq, string AccountId, bool Livemode, string Id, string Type, string ObjectId, DateTimeOffset CreatedAt);

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
