using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Kassa.Core.Webhooks;

/// <summary>
/// Which webhook endpoints Kassa may call (Kassa API §10): in live mode only <c>https</c>, and never
/// loopback, private, link-local or cloud metadata addresses; test mode also allows <c>http</c> and
/// loopback so a developer can receive webhooks on their own machine. Test mode differs from live
/// mode in exactly those two points: private, shared (CGNAT), link-local, metadata and every other
/// special-purpose address stays refused, because a test key is as easy to obtain as any other and
/// must not become a way to probe the network Kassa runs in.
/// <para>
/// The policy comes in two halves because a name can resolve differently each time it is looked up.
/// <see cref="CheckUrl"/> judges the configured URL once, when it is saved. The caller resolves the
/// host on every delivery attempt and calls <see cref="CheckAddress"/> for each address it would
/// connect to, then connects to that checked address rather than resolving the name again.
/// </para>
/// Both functions return null when the input is acceptable and otherwise a short reason phrase
/// suitable for an API error message.
/// </summary>
public static class WebhookUrlPolicy
{
    /// <summary>The longest URL accepted, in characters.</summary>
    public const int UrlLengthMax = 2048;

    /// <summary>Reason: an address in 0.0.0.0/8 or <c>::</c>.</summary>
    public const string UnspecifiedReason = "unspecified addresses are not allowed";
    /// <summary>Reason: a loopback address (127.0.0.0/8, <c>::1</c>) in live mode.</summary>
    public const string LoopbackReason = "loopback addresses are allowed only in test mode";
    /// <summary>Reason: a private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7).</summary>
    public const string PrivateReason = "private addresses are not allowed";
    /// <summary>Reason: the shared address space of carrier-grade NAT (100.64.0.0/10).</summary>
    public const string SharedReason = "shared (carrier-grade NAT) addresses are not allowed";
    /// <summary>Reason: a link-local address (169.254.0.0/16, fe80::/10).</summary>
    public const string LinkLocalReason = "link-local addresses are not allowed";
    /// <summary>Reason: a cloud instance metadata address (169.254.169.254, 100.100.100.200, fd00:ec2::254).</summary>
    public const string MetadataReason = "cloud metadata addresses are not allowed";
    /// <summary>Reason: a multicast address (224.0.0.0/4, ff00::/8).</summary>
    public const string MulticastReason = "multicast addresses are not allowed";
    /// <summary>Reason: the limited broadcast address 255.255.255.255.</summary>
    public const string BroadcastReason = "the broadcast address is not allowed";
    /// <summary>Reason: the reserved block 240.0.0.0/4.</summary>
    public const string ReservedReason = "reserved addresses are not allowed";
    /// <summary>Reason: a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20).</summary>
    public const string DocumentationReason = "documentation addresses are not allowed";
    /// <summary>Reason: a benchmarking range (198.18.0.0/15, 2001:2::/48).</summary>
    public const string BenchmarkingReason = "benchmarking addresses are not allowed";
    /// <summary>
    /// Reason: any other special-purpose address: 192.0.0.0/24, 192.88.99.0/24, IPv4-compatible
    /// IPv6 (::/96), 2001::/23 (including Teredo), site-local fec0::/10, and IPv6 outside the global
    /// unicast block 2000::/3.
    /// </summary>
    public const string SpecialPurposeReason = "special-purpose addresses are not allowed";

    /// <summary>Host names of cloud metadata services; they are refused in both modes, whatever they resolve to.</summary>
    public static readonly IReadOnlyList<string> MetadataHostNames =
    [
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    ];

    /// <summary>
    /// Suffixes that live mode refuses because such names only ever resolve inside a local network:
    /// mDNS (<c>.local</c>), the private-use top-level domain <c>.internal</c> and the home network
    /// domain <c>.home.arpa</c>. <c>localhost</c> and <c>*.localhost</c> are refused separately.
    /// </summary>
    public static readonly IReadOnlyList<string> LocalNetworkSuffixes = [".local", ".internal", ".home.arpa"];

    /// <summary>
    /// Judges a URL an account wants to receive webhooks at. Returns null when it may be saved, or
    /// the reason it may not. The rules, in order: at most 2048 printable ASCII characters (an
    /// international host name must be given in its punycode form, so the name checked is exactly
    /// the name resolved); an absolute URL starting <c>https://</c>, or also <c>http://</c> in test
    /// mode; no user name or password, because credentials in a URL end up in logs; no fragment,
    /// because it is never sent; a host and a port from 1 to 65535; never a cloud metadata host name
    /// (case-insensitive, one trailing dot ignored); never a numeric host in a form other than a
    /// plain IP address. In live mode <c>localhost</c>, <c>*.localhost</c>, single-label names and
    /// names under <see cref="LocalNetworkSuffixes"/> are refused too. A literal IP address must pass
    /// <see cref="CheckAddress"/> in the same mode. Passing this check does not make the URL safe to
    /// call: every resolved address must still pass <see cref="CheckAddress"/> on every attempt.
    /// </summary>
    public static string? CheckUrl(string url, bool livemode)
    {
        if (string.IsNullOrEmpty(url)) return "must not be empty";
        if (url.Length > UrlLengthMax) return $"must be at most {UrlLengthMax} characters";
        foreach (var c in url)
        {
            if (c is < '!' or > '~') return "must contain only printable ASCII characters (give international host names in punycode)";
        }
        // Requiring the literal "scheme://" avoids the lenient spellings parsers disagree about,
        // such as "https:\\host" or "https:host".
        var isHttps = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        var isHttp = url.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        if (!isHttps && !isHttp) return livemode ? "must be an absolute URL starting with https://" : "must be an absolute URL starting with http:// or https://";
        if (isHttp && livemode) return "must use https in live mode";
        if (url.Contains('\\')) return "must not contain backslashes";
        if (url.Contains('#')) return "must not contain a fragment";
        var authorityStart = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var authorityEnd = url.IndexOfAny(['/', '?'], authorityStart);
        var authority = url.AsSpan(authorityStart, (authorityEnd < 0 ? url.Length : authorityEnd) - authorityStart);
        if (authority.Contains('@')) return "must not contain a user name or password";
        if (authority.IsEmpty) return "must have a host";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "must be a valid URL";
        if (uri.Port is < 1 or > 65535) return "must have a port from 1 to 65535";

        switch (uri.HostNameType)
        {
            case UriHostNameType.IPv4:
            case UriHostNameType.IPv6:
                // IdnHost drops the brackets of IPv6 literals. A zone id ties the address to one
                // network interface of the machine Kassa runs on, which no public receiver needs.
                var literal = uri.IdnHost;
                if (literal.Contains('%')) return "must not name an IPv6 zone";
                if (!IPAddress.TryParse(literal, out var address)) return "must be a valid URL";
                return CheckAddress(address, livemode);
            case UriHostNameType.Dns:
                return CheckHostName(uri.IdnHost, livemode);
            default:
                return "must have a host name or IP address";
        }
    }

    /// <summary>
    /// Judges one address a webhook host resolved to, just before connecting to it. Returns null
    /// when it may be called, or the reason it may not. Refused in both modes: unspecified,
    /// link-local, cloud metadata, private (RFC 1918 and fc00::/7), shared CGNAT, multicast,
    /// broadcast, reserved, documentation, benchmarking and the other special-purpose ranges listed
    /// on <see cref="SpecialPurposeReason"/>. Loopback (127.0.0.0/8, <c>::1</c>) is refused only in
    /// live mode. An IPv6 address that embeds an IPv4 address (IPv4-mapped ::ffff:0:0/96, NAT64
    /// 64:ff9b::/96, 6to4 2002::/16) is judged by the IPv4 address it carries, because that is the
    /// host the connection would reach.
    /// </summary>
    public static string? CheckAddress(IPAddress address, bool livemode)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => CheckV4(ToUInt32(address), livemode),
            AddressFamily.InterNetworkV6 => CheckV6(address, livemode),
            _ => "only IPv4 and IPv6 addresses are allowed",
        };
    }

    private static string? CheckHostName(string host, bool livemode)
    {
        // A fully qualified name may end in one dot; it names the same host without it.
        var name = host.EndsWith('.') ? host[..^1] : host;
        if (name.Length == 0 || name.EndsWith('.')) return "must have a host";
        foreach (var metadata in MetadataHostNames)
        {
            if (string.Equals(name, metadata, StringComparison.OrdinalIgnoreCase)) return MetadataReason;
        }
        // Names ending in a number are not DNS names: resolvers may read them as IPv4 addresses
        // in an octal or hexadecimal form, which would slip past the literal address check.
        var lastLabel = name[(name.LastIndexOf('.') + 1)..];
        if (lastLabel.All(char.IsAsciiDigit) || lastLabel.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return "must not be a numeric host other than a plain IP address";
        if (!livemode) return null;
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return "must not be localhost in live mode";
        // A single-label name is completed by the resolver's search domains, which point inside
        // the network Kassa runs in; a public receiver always has a dotted name.
        if (!name.Contains('.')) return "must be a fully qualified host name in live mode";
        foreach (var suffix in LocalNetworkSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) return "must not be a local network name in live mode";
        }
        return null;
    }

    private static string? CheckV4(uint a, bool livemode)
    {
        if (a == 0xFFFF_FFFF) return BroadcastReason;
        if (In(a, 0x0000_0000, 8)) return UnspecifiedReason;
        if (In(a, 0x7F00_0000, 8)) return livemode ? LoopbackReason : null;
        // The metadata addresses sit inside link-local and shared space; they are named first so the
        // reason says what the address really is.
        if (a is 0xA9FE_A9FE or 0x6464_64C8) return MetadataReason;
        if (In(a, 0xA9FE_0000, 16)) return LinkLocalReason;
        if (In(a, 0x0A00_0000, 8) || In(a, 0xAC10_0000, 12) || In(a, 0xC0A8_0000, 16)) return PrivateReason;
        if (In(a, 0x6440_0000, 10)) return SharedReason;
        if (In(a, 0xC000_0200, 24) || In(a, 0xC633_6400, 24) || In(a, 0xCB00_7100, 24)) return DocumentationReason;
        if (In(a, 0xC612_0000, 15)) return BenchmarkingReason;
        if (In(a, 0xC000_0000, 24) || In(a, 0xC058_6300, 24)) return SpecialPurposeReason;
        if (In(a, 0xE000_0000, 4)) return MulticastReason;
        if (In(a, 0xF000_0000, 4)) return ReservedReason;
        return null;
    }

    private static string? CheckV6(IPAddress address, bool livemode)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        var a = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        var low32 = BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]);

        if (a == UInt128.Zero) return UnspecifiedReason;
        if (a == UInt128.One) return livemode ? LoopbackReason : null;
        if (In(a, V6(0, 0, 0, 0, 0, 0xFFFF, 0, 0), 96)) return CheckV4(low32, livemode);
        // IPv4-compatible addresses were deprecated by RFC 4291; nothing legitimate uses them, and
        // some stacks still route them to the embedded IPv4 host.
        if (In(a, UInt128.Zero, 96)) return SpecialPurposeReason;
        if (In(a, V6(0x0064, 0xFF9B, 0, 0, 0, 0, 0, 0), 96)) return CheckV4(low32, livemode);
        if (In(a, V6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16)) return CheckV4(BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]), livemode);
        if (a == V6(0xFD00, 0x0EC2, 0, 0, 0, 0, 0, 0x0254)) return MetadataReason;
        if (In(a, V6(0xFC00, 0, 0, 0, 0, 0, 0, 0), 7)) return PrivateReason;
        if (In(a, V6(0xFE80, 0, 0, 0, 0, 0, 0, 0), 10)) return LinkLocalReason;
        if (In(a, V6(0xFF00, 0, 0, 0, 0, 0, 0, 0), 8)) return MulticastReason;
        if (In(a, V6(0x2001, 0x0DB8, 0, 0, 0, 0, 0, 0), 32) || In(a, V6(0x3FFF, 0, 0, 0, 0, 0, 0, 0), 20)) return DocumentationReason;
        if (In(a, V6(0x2001, 0x0002, 0, 0, 0, 0, 0, 0), 48)) return BenchmarkingReason;
        if (In(a, V6(0x2001, 0, 0, 0, 0, 0, 0, 0), 23)) return SpecialPurposeReason;
        // Everything outside 2000::/3 that is not handled above (site-local fec0::/10, discard-only
        // 100::/64, local-use NAT64 64:ff9b:1::/48, unassigned space) is not global unicast.
        if (!In(a, V6(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)) return SpecialPurposeReason;
        return null;
    }

    private static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static bool In(uint address, uint network, int prefixLength) =>
        (address ^ network) >> (32 - prefixLength) == 0;

    private static bool In(UInt128 address, UInt128 network, int prefixLength) =>
        (address ^ network) >> (128 - prefixLength) == UInt128.Zero;

    private static UInt128 V6(ushort g0, ushort g1, ushort g2, ushort g3, ushort g4, ushort g5, ushort g6, ushort g7) =>
        new(((ulong)g0 << 48) | ((ulong)g1 << 32) | ((ulong)g2 << 16) | g3,
            ((ulong)g4 << 48) | ((ulong)g5 << 32) | ((ulong)g6 << 16) | g7);
}
