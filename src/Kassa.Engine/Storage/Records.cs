namespace Kassa.Engine.Storage;

public sealed record AccountRecord(string Id, string Name, DateTimeOffset CreatedAt);

public sealed record ApiKeyRecord(
    string AccountId, bool Livemode, string Id, string Type, string Name, string KeyHash,
    string Masked, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record Address(string? Line1, string? City, string? State, string? PostalCode, string? Country);

public sealed record CustomerRecord(
    string AccountId, bool Livemode, string Id, string? Email, string? Name, Address? Address,
    IReadOnlyDictionary<string, string> Metadata, string? TestClockId, string? DefaultPaymentMethodId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? DeletedAt);

public sealed record AuditRecord(
    string AccountId, bool Livemode, string Id, DateTimeOffset CreatedAt, string ActorType, string ActorId,
    string Action, string ObjectType, string ObjectId, string RequestId, IReadOnlyList<string> ChangedFields);

/// <summary>The state of one idempotency key: claimed by a running request, or completed with its response.</summary>
public sealed record IdempotencyRecord(
    string AccountId, bool Livemode, string Key, string Fingerprint, bool Completed, string ClaimToken, string RequestId,
    DateTimeOffset LockedUntil, int? ResponseStatus, byte[]? ResponseBody, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);
