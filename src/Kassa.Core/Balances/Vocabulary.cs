using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kassa.Core.Balances;

/// <summary>What a feature is (spec §3.1). On the wire and in storage: <c>boolean</c>, <c>metered</c>, <c>credit_system</c>.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<FeatureType>))]
public enum FeatureType
{
    /// <summary>On or off: granted by a subscription, no balance.</summary>
    Boolean,
    /// <summary>Counted: a balance of units.</summary>
    Metered,
    /// <summary>A balance of credits that other features draw on through a credit schema.</summary>
    CreditSystem,
}

/// <summary>What happens past zero (spec §3.2). On the wire and in storage: <c>blocked</c>, <c>billed</c>, <c>allowed</c>.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<OveragePolicy>))]
public enum OveragePolicy
{
    /// <summary>Check denies at zero (track still records).</summary>
    Blocked,
    /// <summary>Usage past zero is allowed and priced by the matching usage price.</summary>
    Billed,
    /// <summary>Usage past zero is allowed and recorded, not billed.</summary>
    Allowed,
}

/// <summary>A lock's state (spec §5.3). On the wire and in storage: <c>held</c>, <c>confirmed</c>, <c>released</c>, <c>expired</c>.</summary>
[JsonConverter(typeof(SnakeCaseEnumConverter<LockStatus>))]
public enum LockStatus
{
    /// <summary>Holding units; the only state that can be finalized.</summary>
    Held,
    /// <summary>Consumed by <c>confirm</c>.</summary>
    Confirmed,
    /// <summary>Returned by <c>release</c>.</summary>
    Released,
    /// <summary>Returned by itself past <c>expires_at</c>.</summary>
    Expired,
}

/// <summary>
/// The one mapping between the balance vocabulary (<see cref="FeatureType"/>, <see cref="OveragePolicy"/>,
/// <see cref="LockStatus"/>, <see cref="BucketKind"/>, <see cref="GrantCategory"/>, <see cref="MovementType"/>)
/// and its snake_case strings in JSON and storage: parsed once where rows are read and written back
/// as the same strings, so no migration is needed and the engine compares no strings. The same
/// naming as <see cref="SnakeCaseEnumConverter{T}"/>, so JSON and rows always agree.
/// </summary>
public static class BalanceWords
{
    /// <summary>The snake_case string of <paramref name="value"/> (<c>CreditSystem</c> → <c>credit_system</c>).</summary>
    public static string Wire<T>(T value) where T : struct, Enum =>
        Names<T>.ToText.TryGetValue(value, out var text) ? text : throw new ArgumentOutOfRangeException(nameof(value), value, null);

    /// <summary>The value whose snake_case string is <paramref name="text"/> (ordinal); false for anything else.</summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        value = default;
        return text is not null && Names<T>.FromText.TryGetValue(text, out value);
    }

    /// <summary>Parses a stored string. One no version wrote is corrupt data, not input, so it throws.</summary>
    public static T Parse<T>(string text) where T : struct, Enum =>
        TryParse<T>(text, out var value) ? value : throw new FormatException($"'{text}' is not a stored {typeof(T).Name}");

    // Built once per enum type: the hot path maps values without allocating.
    private static class Names<T> where T : struct, Enum
    {
        public static readonly Dictionary<T, string> ToText =
            Enum.GetValues<T>().ToDictionary(v => v, v => JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()));

        public static readonly Dictionary<string, T> FromText = ToText.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
    }
}

/// <summary>
/// Serialises an enum as its snake_case name (<c>CreditSystem</c> ↔ <c>"credit_system"</c>) and refuses
/// anything else, so the JSON shows exactly the strings the spec and the database use.
/// </summary>
public sealed class SnakeCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
