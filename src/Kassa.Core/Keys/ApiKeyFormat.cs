using System.Security.Cryptography;
using System.Text;

namespace Kassa.Core.Keys;

public enum KeyKind
{
    Secret,
    Publishable,
    CustomerSession,
}

/// <summary>What a raw key says about itself before any lookup.</summary>
public readonly record struct KeyShape(KeyKind Kind, bool? Livemode);

/// <summary>
/// Raw key strings: <c>sk_test_</c>, <c>sk_live_</c>, <c>pk_test_</c>, <c>pk_live_</c> or <c>cst_</c>
/// followed by base62 characters. Only the SHA-256 of a key is stored: keys carry 190 bits of
/// randomness, so a fast hash is enough (a slow password hash would only slow every request).
/// </summary>
public static class ApiKeyFormat
{
    public const int RandomCharacters = 32;
    public const int RawKeyLengthMax = 200;
    /// <summary>Fewer characters after the prefix cannot be a key of ours (we make 32; operators give at least 24).</summary>
    public const int BodyLengthMin = 16;
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Prefix(KeyKind kind, bool livemode) => kind switch
    {
        KeyKind.Secret => livemode ? "sk_live_" : "sk_test_",
        KeyKind.Publishable => livemode ? "pk_live_" : "pk_test_",
        KeyKind.CustomerSession => "cst_",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Builds a key from random bytes (one byte per character; rejection keeps base62 unbiased).</summary>
    public static string Format(KeyKind kind, bool livemode, ReadOnlySpan<byte> random)
    {
        var sb = new StringBuilder(Prefix(kind, livemode), 8 + RandomCharacters);
        foreach (var b in random)
        {
            if (b >= 248) continue; // 248 = 4 * 62: bytes above it would bias the first characters.
            sb.Append(Base62[b % 62]);
            if (sb.Length == Prefix(kind, livemode).Length + RandomCharacters) break;
        }
        if (sb.Length != Prefix(kind, livemode).Length + RandomCharacters)
            throw new ArgumentException("not enough usable random bytes", nameof(random));
        return sb.ToString();
    }

    /// <summary>Classifies a raw key by prefix; null when it is not shaped like any of ours.</summary>
    public static KeyShape? Shape(string raw)
    {
        if (raw.Length > RawKeyLengthMax) return null;
        foreach (var c in raw)
        {
            if (c is not (>= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_')) return null;
        }
        if (raw.Length < (raw.StartsWith("cst_", StringComparison.Ordinal) ? 4 : 8) + BodyLengthMin) return null;
        if (raw.StartsWith("sk_test_", StringComparison.Ordinal)) return new KeyShape(KeyKind.Secret, false);
        if (raw.StartsWith("sk_live_", StringComparison.Ordinal)) return new KeyShape(KeyKind.Secret, true);
        if (raw.StartsWith("pk_test_", StringComparison.Ordinal)) return new KeyShape(KeyKind.Publishable, false);
        if (raw.StartsWith("pk_live_", StringComparison.Ordinal)) return new KeyShape(KeyKind.Publishable, true);
        if (raw.StartsWith("cst_", StringComparison.Ordinal)) return new KeyShape(KeyKind.CustomerSession, null);
        return null;
    }

    /// <summary>A bootstrap key given by an operator must look like a test secret key with enough entropy.</summary>
    public static string? CheckBootstrapKey(string raw)
    {
        var shape = Shape(raw);
        if (shape is not { Kind: KeyKind.Secret, Livemode: false }) return "must start with sk_test_ and contain only letters, digits and _";
        if (raw.Length < "sk_test_".Length + 24) return "must have at least 24 characters after sk_test_";
        return null;
    }

    public static string Hash(string raw) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)));

    /// <summary>What lists show instead of the key: the type prefix, the first four and the last four characters.</summary>
    public static string Mask(string raw)
    {
        var prefixLength = raw.StartsWith("cst_", StringComparison.Ordinal) ? 4 : 8;
        return $"{raw[..(prefixLength + 4)]}…{raw[^4..]}";
    }
}
