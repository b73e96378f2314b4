namespace Kassa.Core.Ids;

/// <summary>
/// Server-made identifiers: <c>prefix_</c> followed by 26 Crockford base32 characters, 10 for the
/// millisecond timestamp and 16 for 80 random bits (the ULID layout). Ids made later sort after ids
/// made earlier (to the millisecond), which keeps B-tree inserts at the right edge and lets a list
/// ordered by id read newest first without a separate sort key.
/// </summary>
public static class KassaId
{
    public const int BodyLength = 26;
    public const int RandomBytes = 10;
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>Formats an id from a time and exactly 10 random bytes; pure, so tests can pin both.</summary>
    public static string Format(string prefix, DateTimeOffset now, ReadOnlySpan<byte> random)
    {
        if (random.Length != RandomBytes) throw new ArgumentException("exactly 10 random bytes are needed", nameof(random));
        var ms = now.ToUnixTimeMilliseconds();
        if (ms < 0 || ms >= 1L << 48) throw new ArgumentOutOfRangeException(nameof(now), "time outside the 48-bit millisecond range");
        Span<char> body = stackalloc char[BodyLength];
        for (var i = 9; i >= 0; i--)
        {
            body[i] = Alphabet[(int)(ms & 31)];
            ms >>= 5;
        }
        // 80 random bits -> 16 characters of 5 bits each, most significant first.
        var bitBuffer = 0UL;
        var bits = 0;
        var pos = 10;
        foreach (var b in random)
        {
            bitBuffer = (bitBuffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                body[pos++] = Alphabet[(int)((bitBuffer >> bits) & 31)];
            }
        }
        return string.Concat(prefix, "_", body);
    }

    /// <summary>
    /// The least id <paramref name="prefix"/> can have at <paramref name="at"/> (zero random bits): every id made
    /// before that millisecond sorts below it, every id made at it or later does not. Lets a key of ids stand in
    /// for a time order (a purge of what is older than a time by the key alone).
    /// </summary>
    public static string Floor(string prefix, DateTimeOffset at) => Format(prefix, at, stackalloc byte[RandomBytes]);

    /// <summary>The millisecond timestamp an id was made at, or null when the body is not ours.</summary>
    public static DateTimeOffset? TimestampOf(string id)
    {
        var underscore = id.LastIndexOf('_');
        if (underscore < 0 || id.Length - underscore - 1 != BodyLength) return null;
        long ms = 0;
        for (var i = underscore + 1; i < underscore + 11; i++)
        {
            var v = Alphabet.IndexOf(id[i]);
            if (v < 0) return null;
            ms = (ms << 5) | (uint)v;
        }
        return ms >= 1L << 48 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}
