namespace Kassa.Core.Balances;

/// <summary>An amount taken from (or returned to) one bucket; BucketId null = the overage part (no bucket).</summary>
/// <param name="BucketId">The bucket, or null for the part past every bucket (overage).</param>
/// <param name="Amount">Micro-units, &gt; 0 in every part the core returns.</param>
public readonly record struct Part(string? BucketId, long Amount);

/// <summary>The kind of a balance change, as written to the credit transaction log.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(SnakeCaseEnumConverter<MovementType>))]
public enum MovementType
{
    /// <summary>Units added by a new bucket (grant, allowance, rollover).</summary>
    Grant,
    /// <summary>Units used (from a bucket, or past zero as overage).</summary>
    Consume,
    /// <summary>Units moved from remaining to held by a lock.</summary>
    Hold,
    /// <summary>Held units returned to remaining.</summary>
    Release,
    /// <summary>Units left in a bucket when it expired.</summary>
    Expire,
    /// <summary>Units removed by voiding a bucket.</summary>
    Void,
    /// <summary>Overage cleared at the start of a new period.</summary>
    Reset,
    /// <summary>Usage returned by a correction, or changed by an admin adjustment.</summary>
    Adjust,
}

/// <summary>One change to a balance, for the transaction log. Amount > 0 always; BucketId null = overage.</summary>
/// <param name="Type">What happened.</param>
/// <param name="BucketId">The bucket changed, or null for the overage (or the overage part of a lock).</param>
/// <param name="Amount">Micro-units, always &gt; 0; the direction follows from <paramref name="Type"/>.</param>
public readonly record struct Movement(MovementType Type, string? BucketId, long Amount);
