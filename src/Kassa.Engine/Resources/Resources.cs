using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Resources;

/// <summary>A page of a list, as every list endpoint answers (spec §1).</summary>
public sealed record ListResource<T>(IReadOnlyList<T> Data, bool HasMore, string? NextCursor)
{
    [JsonPropertyOrder(-1)] public string Object => "list";
}

public sealed record AddressResource(string? Line1, string? City, string? State, string? PostalCode, string? Country)
{
    public static AddressResource? From(Address? a) => a is null ? null : new(a.Line1, a.City, a.State, a.PostalCode, a.Country);
}

/// <summary>The customer object of spec §2.</summary>
public sealed record CustomerResource(
    string Id, string? Email, string? Name, AddressResource? Address, IReadOnlyDictionary<string, string> Metadata,
    string? TestClockId, string? DefaultPaymentMethodId, bool Livemode, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "customer";

    public static CustomerResource From(CustomerRecord c) =>
        new(c.Id, c.Email, c.Name, AddressResource.From(c.Address), c.Metadata, c.TestClockId, c.DefaultPaymentMethodId, c.Livemode, c.CreatedAt);
}

/// <summary>
/// <c>GET /v1/customers/{id}</c>: the customer with what it is entitled to. Subscriptions, balances
/// and flags are filled by the subscription and entitlement capabilities; until a customer has
/// any they are empty.
/// </summary>
public sealed record CustomerDetailResource(
    string Id, string? Email, string? Name, AddressResource? Address, IReadOnlyDictionary<string, string> Metadata,
    string? TestClockId, string? DefaultPaymentMethodId, bool Livemode, DateTimeOffset CreatedAt,
    IReadOnlyList<object> Subscriptions, IReadOnlyDictionary<string, object> Balances, IReadOnlyDictionary<string, bool> Flags)
{
    [JsonPropertyOrder(-1)] public string Object => "customer";

    public static CustomerDetailResource From(CustomerRecord c) =>
        new(c.Id, c.Email, c.Name, AddressResource.From(c.Address), c.Metadata, c.TestClockId, c.DefaultPaymentMethodId, c.Livemode, c.CreatedAt,
            [], new Dictionary<string, object>(), new Dictionary<string, bool>());
}

public sealed record DeletedResource(string Id, string Object, bool Deleted);

/// <summary>An API key as lists show it: never the key itself, only its masked form.</summary>
public sealed record ApiKeyResource(string Id, string Name, string Type, string Prefix, bool Livemode, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "api_key";
    public static ApiKeyResource From(ApiKeyRecord k) => new(k.Id, k.Name, k.Type, k.Masked, k.Livemode, k.CreatedAt, k.RevokedAt);
}

/// <summary>The answer to key creation: the only time <see cref="RawKey"/> is ever shown.</summary>
public sealed record CreatedApiKeyResource(string Id, string Name, string Type, string Prefix, string RawKey, bool Livemode, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "api_key";
}

public sealed record AuditActorResource(string Type, string Id);

public sealed record AuditEventResource(
    string Id, DateTimeOffset CreatedAt, AuditActorResource Actor, string Action, string ObjectType, string ObjectId,
    string RequestId, IReadOnlyList<string> ChangedFields, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "audit_event";

    public static AuditEventResource From(AuditRecord a) =>
        new(a.Id, a.CreatedAt, new AuditActorResource(a.ActorType, a.ActorId), a.Action, a.ObjectType, a.ObjectId, a.RequestId, a.ChangedFields, a.Livemode);
}
