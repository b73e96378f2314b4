using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kassa.Core.Webhooks;

/// <summary>
/// The outcome of checking a received webhook against a secret. Only <see cref="Valid"/> means the
/// message may be trusted; every other value is a rejection with the reason it was rejected.
/// </summary>
public enum WebhookVerifyResult
{
    /// <summary>The timestamp is inside the tolerance and at least one <c>v1</c> signature matches.</summary>
    Valid,

    /// <summary>The headers are well formed and fresh, but no <c>v1</c> signature matches the key.</summary>
    BadSignature,

    /// <summary>The timestamp is further in the past than the tolerance allows (a possible replay).</summary>
    TimestampTooOld,

    /// <summary>The timestamp is further in the future than the tolerance allows.</summary>
    TimestampInFuture,

    /// <summary>
    /// A header or the body breaks the format or its bounds: an empty or over-long id, a timestamp
    /// that is not canonical unix seconds, an empty or over-long signature header, more than
    /// <see cref="StandardWebhooks.SignaturesMax"/> signatures, or a body over
    /// <see cref="StandardWebhooks.PayloadBytesMax"/> bytes.
    /// </summary>
    Malformed,
}

/// <summary>
/// Webhook signing secrets in the Standard Webhooks form <c>whsec_&lt;base64 key&gt;</c>. The key
/// is 24 to 64 random bytes: 24 bytes (192 bits) keeps guessing out of reach and is the size the
/// Standard Webhooks examples use, and HMAC hashes a key longer than the SHA-256 block size
/// (64 bytes) down to 32 bytes, so more would only look stronger.
/// </summary>
public static class WebhookSecret
{
    /// <summary>The prefix every secret Kassa shows starts with.</summary>
    public const string Prefix = "whsec_";

    /// <summary>The fewest key bytes a secret may carry (192 bits).</summary>
    public const int KeyBytesMin = 24;

    /// <summary>The most key bytes a secret may carry (the SHA-256 block size).</summary>
    public const int KeyBytesMax = 64;

    // Base64 of 64 bytes is 88 characters; anything longer cannot decode to an acceptable key.
    private const int EncodedLengthMax = 88;

    /// <summary>
    /// Formats caller-supplied random bytes as <c>whsec_</c> followed by standard, padded base64.
    /// The caller draws the bytes from a cryptographic generator so that this function stays pure.
    /// </summary>
    /// <exception cref="ArgumentException">There are fewer than 24 or more than 64 bytes.</exception>
    public static string Generate(ReadOnlySpan<byte> random)
    {
        if (random.Length is < KeyBytesMin or > KeyBytesMax)
            throw new ArgumentException($"a webhook key needs {KeyBytesMin} to {KeyBytesMax} random bytes", nameof(random));
        return Prefix + Convert.ToBase64String(random);
    }

    /// <summary>
    /// Decodes a secret into its key. The <c>whsec_</c> prefix is optional because other Standard
    /// Webhooks libraries print secrets both ways. Returns false, with an empty key, for anything
    /// that is not strict standard base64 of 24 to 64 bytes (whitespace, base64url characters and
    /// bad padding are all refused).
    /// </summary>
    public static bool TryParse(string secret, out byte[] key)
    {
        key = [];
        if (secret is null) return false;
        var encoded = secret.AsSpan();
        if (encoded.StartsWith(Prefix, StringComparison.Ordinal)) encoded = encoded[Prefix.Length..];
        if (encoded.Length is 0 or > EncodedLengthMax) return false;
        foreach (var c in encoded)
        {
            // Convert skips whitespace silently; refusing it here keeps one spelling per key.
            if (c is not (>= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' or '=')) return false;
        }
        Span<byte> buffer = stackalloc byte[EncodedLengthMax / 4 * 3];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written)) return false;
        if (written is < KeyBytesMin or > KeyBytesMax) return false;
        key = buffer[..written].ToArray();
        return true;
    }
}

/// <summary>
/// Signing and verification of webhooks as the Standard Webhooks specification defines them
/// (Kassa API §10). A message carries <c>webhook-id</c>, <c>webhook-timestamp</c> (unix seconds)
/// and <c>webhook-signature</c>, which holds one or more space-separated <c>v1,&lt;base64&gt;</c>
/// entries, each an HMAC-SHA256 under one key of <c>"{id}.{timestamp}.{body}"</c>. While a secret
/// is being rotated the sender signs with both the new and the old key, so a receiver holding
/// either one accepts the message. Every function here is pure: the current time is an argument.
/// </summary>
public static class StandardWebhooks
{
    /// <summary>The header carrying the message id, which stays the same across retries.</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>The header carrying the signing time in unix seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>The header carrying the space-separated signatures.</summary>
    public const string SignatureHeaderName = "webhook-signature";

    /// <summary>The longest <c>webhook-signature</c> header <see cref="Verify(string, string, string, string, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan?)"/> reads (4 KiB).</summary>
    public const int SignatureHeaderLengthMax = 4096;

    /// <summary>The most signatures, of any version, one header may carry; also the most keys one may sign with.</summary>
    public const int SignaturesMax = 10;

    /// <summary>The longest message id, in characters.</summary>
    public const int MessageIdLengthMax = 256;

    /// <summary>
    /// The largest body, in bytes, that is signed or verified. An event carries one API object, and
    /// request bodies are capped at 1 MiB, so four times that leaves ample room for the envelope.
    /// </summary>
    public const int PayloadBytesMax = 4 << 20;

    /// <summary>The latest unix second a timestamp may name (9999-12-31T23:59:59Z, the end of <see cref="DateTimeOffset"/>).</summary>
    public const long TimestampSecondsMax = 253_402_300_799;

    /// <summary>How far a timestamp may be from the receiver's clock when no tolerance is given.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The widest tolerance accepted; a wider window would make replay protection meaningless.</summary>
    public static readonly TimeSpan ToleranceMax = TimeSpan.FromDays(1);

    private const string VersionPrefix = "v1,";
    private const int MacBytes = 32;
    private const int TimestampDigitsMax = 12;

    /// <summary>
    /// Signs one message with one key and returns the header entry <c>v1,&lt;base64&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The key is not 24 to 64 bytes, the id is not 1 to 256 printable ASCII characters without
    /// spaces or dots, or the body is larger than <see cref="PayloadBytesMax"/>.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">The timestamp is negative or after year 9999.</exception>
    public static string Sign(byte[] key, string msgId, long timestampSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is < WebhookSecret.KeyBytesMin or > WebhookSecret.KeyBytesMax)
            throw new ArgumentException($"a webhook key has {WebhookSecret.KeyBytesMin} to {WebhookSecret.KeyBytesMax} bytes", nameof(key));
        if (!IsValidMessageId(msgId))
            throw new ArgumentException($"a message id is 1 to {MessageIdLengthMax} printable ASCII characters without spaces or dots", nameof(msgId));
        if (timestampSeconds is < 0 or > TimestampSecondsMax)
            throw new ArgumentOutOfRangeException(nameof(timestampSeconds), "a timestamp is unix seconds between 1970 and 9999");
        if (body.Length > PayloadBytesMax)
            throw new ArgumentException($"a webhook body has at most {PayloadBytesMax} bytes", nameof(body));
        Span<byte> mac = stackalloc byte[MacBytes];
        ComputeMac(key, msgId, timestampSeconds, body, mac);
        return VersionPrefix + Convert.ToBase64String(mac);
    }

    /// <summary>
    /// Builds a whole <c>webhook-signature</c> header: one <c>v1</c> entry per key, in the order given,
    /// joined by single spaces. Pass the current key first and, during a rotation, the previous key
    /// second, so receivers on either secret accept the message.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// There are no keys or more than <see cref="SignaturesMax"/>, or any argument fails the checks of
    /// <see cref="Sign"/>.
    /// </exception>
    public static string SignatureHeader(IEnumerable<byte[]> keys, string msgId, long timestampSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var signatures = new List<string>(2);
        foreach (var key in keys)
        {
            // Stop reading at the limit, so an endless sequence cannot keep this loop busy.
            if (signatures.Count == SignaturesMax)
                throw new ArgumentException($"a message is signed with at most {SignaturesMax} keys", nameof(keys));
            signatures.Add(Sign(key, msgId, timestampSeconds, body));
        }
        if (signatures.Count == 0) throw new ArgumentException("a message is signed with at least one key", nameof(keys));
        return string.Join(' ', signatures);
    }

    /// <summary>
    /// Verifies a received message against a secret (<c>whsec_…</c> or bare base64). See
    /// <see cref="Verify(byte[], string, string, string, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan?)"/>
    /// for the rules.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The secret does not parse: that is a configuration error of the receiver, not a property of the
    /// message, so it must not look like a rejected delivery.
    /// </exception>
    public static WebhookVerifyResult Verify(
        string secret, string msgId, string timestampHeader, string signatureHeader,
        ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        if (!WebhookSecret.TryParse(secret, out var key))
            throw new ArgumentException("not a webhook secret: expected whsec_ and base64 of 24 to 64 bytes", nameof(secret));
        return Verify(key, msgId, timestampHeader, signatureHeader, body, now, tolerance);
    }

    /// <summary>
    /// Verifies a received message against a key. Checks happen in this order: the shape and bounds
    /// of every header and the body (<see cref="WebhookVerifyResult.Malformed"/>), then the timestamp
    /// against <paramref name="now"/> (<see cref="WebhookVerifyResult.TimestampTooOld"/>,
    /// <see cref="WebhookVerifyResult.TimestampInFuture"/>), then the signatures. A timestamp exactly
    /// <paramref name="tolerance"/> away is accepted; <paramref name="now"/> is truncated to whole
    /// seconds because the header only carries whole seconds. Any one <c>v1</c> entry may match;
    /// entries of other versions (for example <c>v1a,</c>) and entries that are not base64 of a
    /// 32-byte MAC are skipped. The comparison takes the same time wherever the bytes differ.
    /// </summary>
    /// <param name="key">The 24-to-64-byte key, as <see cref="WebhookSecret.TryParse"/> returns it.</param>
    /// <param name="msgId">The <c>webhook-id</c> header.</param>
    /// <param name="timestampHeader">The <c>webhook-timestamp</c> header: canonical decimal unix seconds.</param>
    /// <param name="signatureHeader">The <c>webhook-signature</c> header.</param>
    /// <param name="body">The raw body bytes exactly as received, before any JSON parsing.</param>
    /// <param name="now">The receiver's current time.</param>
    /// <param name="tolerance">The allowed clock distance either way; 5 minutes when null, at most 1 day.</param>
    /// <exception cref="ArgumentException">The key is not 24 to 64 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The tolerance is negative or above <see cref="ToleranceMax"/>.</exception>
    public static WebhookVerifyResult Verify(
        byte[] key, string msgId, string timestampHeader, string signatureHeader,
        ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is < WebhookSecret.KeyBytesMin or > WebhookSecret.KeyBytesMax)
            throw new ArgumentException($"a webhook key has {WebhookSecret.KeyBytesMin} to {WebhookSecret.KeyBytesMax} bytes", nameof(key));
        var window = tolerance ?? DefaultTolerance;
        if (window < TimeSpan.Zero || window > ToleranceMax)
            throw new ArgumentOutOfRangeException(nameof(tolerance), "the tolerance must be between zero and one day");

        if (!IsValidMessageId(msgId)) return WebhookVerifyResult.Malformed;
        if (!TryParseTimestamp(timestampHeader, out var timestamp)) return WebhookVerifyResult.Malformed;
        if (!TrySplitSignatures(signatureHeader, out var entries)) return WebhookVerifyResult.Malformed;
        if (body.Length > PayloadBytesMax) return WebhookVerifyResult.Malformed;

        // Both values are within ±3.2e11 seconds, so the tick products below cannot overflow a long.
        var ageTicks = (now.ToUnixTimeSeconds() - timestamp) * TimeSpan.TicksPerSecond;
        if (ageTicks > window.Ticks) return WebhookVerifyResult.TimestampTooOld;
        if (-ageTicks > window.Ticks) return WebhookVerifyResult.TimestampInFuture;

        Span<byte> expected = stackalloc byte[MacBytes];
        ComputeMac(key, msgId, timestamp, body, expected);
        Span<byte> candidate = stackalloc byte[MacBytes];
        foreach (var entry in entries)
        {
            var text = signatureHeader.AsSpan(entry.Start, entry.Length);
            if (!text.StartsWith(VersionPrefix, StringComparison.Ordinal)) continue;
            var encoded = text[VersionPrefix.Length..];
            // 44 characters is exactly base64 of 32 bytes; checking it first keeps other lengths out of the decoder.
            if (encoded.Length != 44) continue;
            if (!Convert.TryFromBase64Chars(encoded, candidate, out var written) || written != MacBytes) continue;
            if (CryptographicOperations.FixedTimeEquals(expected, candidate)) return WebhookVerifyResult.Valid;
        }
        return WebhookVerifyResult.BadSignature;
    }

    private static void ComputeMac(byte[] key, string msgId, long timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        // The id is validated ASCII and the timestamp has at most 12 digits, so the prefix fits the stack buffer.
        Span<byte> prefix = stackalloc byte[MessageIdLengthMax + TimestampDigitsMax + 2];
        var length = Encoding.ASCII.GetBytes(msgId, prefix);
        prefix[length++] = (byte)'.';
        timestamp.TryFormat(prefix[length..], out var digits, default, CultureInfo.InvariantCulture);
        length += digits;
        prefix[length++] = (byte)'.';
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(prefix[..length]);
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }

    private static bool IsValidMessageId(string? msgId)
    {
        if (string.IsNullOrEmpty(msgId) || msgId.Length > MessageIdLengthMax) return false;
        foreach (var c in msgId)
        {
            // A dot in the id would make "{id}.{timestamp}.{body}" ambiguous: the id "a.1" with
            // timestamp 2 signs the same bytes as the id "a" with timestamp 1 and a body starting
            // "2.". Kassa's event ids never contain dots, so refusing them costs nothing.
            if (c is < '!' or > '~' or '.') return false;
        }
        return true;
    }

    private static bool TryParseTimestamp(string? header, out long seconds)
    {
        seconds = 0;
        if (string.IsNullOrEmpty(header) || header.Length > TimestampDigitsMax) return false;
        // Only the canonical spelling is accepted (no sign, spaces or leading zeros), because the
        // signature covers the text and other libraries re-format the number before signing.
        if (header.Length > 1 && header[0] == '0') return false;
        foreach (var c in header)
        {
            if (c is < '0' or > '9') return false;
        }
        seconds = long.Parse(header, NumberStyles.None, CultureInfo.InvariantCulture);
        return seconds <= TimestampSecondsMax;
    }

    private static bool TrySplitSignatures(string? header, out List<Entry> entries)
    {
        entries = [];
        if (string.IsNullOrEmpty(header) || header.Length > SignatureHeaderLengthMax) return false;
        foreach (var c in header)
        {
            // Header values are visible ASCII and spaces; anything else means the header was mangled.
            if (c is < ' ' or > '~') return false;
        }
        var start = 0;
        while (start < header.Length)
        {
            var end = header.IndexOf(' ', start);
            if (end < 0) end = header.Length;
            // Runs of spaces are tolerated as one separator, as in the reference libraries.
            if (end > start)
            {
                if (entries.Count == SignaturesMax) return false;
                entries.Add(new Entry(start, end - start));
            }
            start = end + 1;
        }
        return entries.Count > 0;
    }

    private readonly record struct Entry(int Start, int Length);
}
