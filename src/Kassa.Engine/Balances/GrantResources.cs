using System.Text.Json.Serialization;
using Kassa.Core.Balances;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>A credit grant (spec §5.5): one bucket of a customer's balance.</summary>
public sealed record CreditGrantResource(
    string Id, string CustomerId, string FeatureId, decimal Amount, decimal Used, decimal Held, decimal Remaining, GrantCategory Category, int Priority,
    DateTimeOffset EffectiveAt, DateTimeOffset? ExpiresAt, string? Name, IReadOnlyDictionary<string, string> Metadata, bool Voided, bool Livemode,
    DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "credit_grant";

    public static CreditGrantResource From(StoredBucket b) =>
        new(b.Bucket.Id, b.CustomerId, b.FeatureId, Micro.ToDecimal(b.Bucket.Granted), Micro.ToDecimal(b.Bucket.Used), Micro.ToDecimal(b.Bucket.Held),
            Micro.ToDecimal(Math.Max(0, b.Bucket.Remaining)), b.Bucket.Category, b.Bucket.Priority, b.Bucket.EffectiveAt,
            b.Bucket.ExpiresAt, b.Name,
            b.Metadata is null ? new Dictionary<string, string>() : System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(b.Metadata)!,
            b.Bucket.Voided, b.Livemode, b.Bucket.CreatedAt);
}

/// <summary>One movement of a balance (spec §5.5 credit transactions).</summary>
public sealed record CreditTransactionResource(
    string Id, string CustomerId, string FeatureId, MovementType Type, decimal Amount, string? Bucket, decimal BalanceAfter, CreditTransactionSource? Source,
    bool Livemode, DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "credit_transaction";

    public static CreditTransactionResource From(CreditTransactionRecord t) =>
        new(t.Id, t.CustomerId, t.FeatureId, t.Type, Micro.ToDecimal(t.Amount), t.BucketId, Micro.ToDecimal(t.BalanceAfter),
            t.SourceType is null ? null : new CreditTransactionSource(t.SourceType, t.SourceId!), t.Livemode, t.CreatedAt);
}

public sealed record CreditTransactionSource(string Type, string Id);
