using System.Net;
using Kassa.Core.Webhooks;

namespace Kassa.Core.Tests.Webhooks;

public class WebhookUrlPolicyTests
{
    private const string Unspecified = WebhookUrlPolicy.UnspecifiedReason;
    private const string Loopback = WebhookUrlPolicy.LoopbackReason;
    private const string Private = WebhookUrlPolicy.PrivateReason;
    private const string Shared = WebhookUrlPolicy.SharedReason;
    private const string LinkLocal = WebhookUrlPolicy.LinkLocalReason;
    private const string Metadata = WebhookUrlPolicy.MetadataReason;
    private const string Multicast = WebhookUrlPolicy.MulticastReason;
    private const string Broadcast = WebhookUrlPolicy.BroadcastReason;
    private const string Reserved = WebhookUrlPolicy.ReservedReason;
    private const string Documentation = WebhookUrlPolicy.DocumentationReason;
    private const string Benchmarking = WebhookUrlPolicy.BenchmarkingReason;
    private const string Special = WebhookUrlPolicy.SpecialPurposeReason;

    [Theory]
    // Public addresses, and the first addresses just outside refused ranges.
    [InlineData("8.8.8.8", null, null)]
    [InlineData("93.184.216.34", null, null)]
    [InlineData("1.0.0.0", null, null)]
    [InlineData("126.255.255.255", null, null)]
    [InlineData("128.0.0.0", null, null)]
    [InlineData("9.255.255.255", null, null)]
    [InlineData("11.0.0.0", null, null)]
    [InlineData("172.15.255.255", null, null)]
    [InlineData("172.32.0.0", null, null)]
    [InlineData("192.167.255.255", null, null)]
    [InlineData("192.169.0.0", null, null)]
    [InlineData("100.63.255.255", null, null)]
    [InlineData("100.128.0.0", null, null)]
    [InlineData("169.253.255.255", null, null)]
    [InlineData("169.255.0.0", null, null)]
    [InlineData("198.17.255.255", null, null)]
    [InlineData("198.20.0.0", null, null)]
    [InlineData("223.255.255.255", null, null)]
    // 0.0.0.0/8
    [InlineData("0.0.0.0", Unspecified, Unspecified)]
    [InlineData("0.255.255.255", Unspecified, Unspecified)]
    // 127.0.0.0/8: the only range test mode allows.
    [InlineData("127.0.0.1", Loopback, null)]
    [InlineData("127.255.255.254", Loopback, null)]
    // RFC 1918
    [InlineData("10.0.0.0", Private, Private)]
    [InlineData("10.255.255.255", Private, Private)]
    [InlineData("172.16.0.0", Private, Private)]
    [InlineData("172.31.255.255", Private, Private)]
    [InlineData("192.168.0.0", Private, Private)]
    [InlineData("192.168.255.255", Private, Private)]
    // 100.64.0.0/10, with Alibaba Cloud's metadata address inside it
    [InlineData("100.64.0.0", Shared, Shared)]
    [InlineData("100.127.255.255", Shared, Shared)]
    [InlineData("100.100.100.200", Metadata, Metadata)]
    // 169.254.0.0/16, with the AWS/GCP/Azure metadata address inside it
    [InlineData("169.254.169.254", Metadata, Metadata)]
    [InlineData("169.254.0.1", LinkLocal, LinkLocal)]
    [InlineData("169.254.170.2", LinkLocal, LinkLocal)]
    [InlineData("169.254.255.255", LinkLocal, LinkLocal)]
    // Special-purpose, documentation and benchmarking blocks
    [InlineData("192.0.0.0", Special, Special)]
    [InlineData("192.0.0.255", Special, Special)]
    [InlineData("192.88.99.1", Special, Special)]
    [InlineData("192.0.2.1", Documentation, Documentation)]
    [InlineData("198.51.100.7", Documentation, Documentation)]
    [InlineData("203.0.113.255", Documentation, Documentation)]
    [InlineData("198.18.0.0", Benchmarking, Benchmarking)]
    [InlineData("198.19.255.255", Benchmarking, Benchmarking)]
    // 224.0.0.0/4, 240.0.0.0/4 and the broadcast address
    [InlineData("224.0.0.1", Multicast, Multicast)]
    [InlineData("239.255.255.255", Multicast, Multicast)]
    [InlineData("240.0.0.0", Reserved, Reserved)]
    [InlineData("255.255.255.254", Reserved, Reserved)]
    [InlineData("255.255.255.255", Broadcast, Broadcast)]
    public void IPv4_ranges(string address, string? live, string? test)
    {
        Assert.Equal(live, WebhookUrlPolicy.CheckAddress(IPAddress.Parse(address), livemode: true));
        Assert.Equal(test, WebhookUrlPolicy.CheckAddress(IPAddress.Parse(address), livemode: false));
    }

    [Theory]
    [InlineData("2606:4700:4700::1111", null, null)]
    [InlineData("2a00:1450:4001:82a::200e", null, null)]
    [InlineData("::", Unspecified, Unspecified)]
    [InlineData("::1", Loopback, null)]
    // IPv4-mapped addresses are judged as the IPv4 address they carry.
    [InlineData("::ffff:169.254.169.254", Metadata, Metadata)]
    [InlineData("::ffff:10.0.0.1", Private, Private)]
    [InlineData("::ffff:127.0.0.1", Loopback, null)]
    [InlineData("::ffff:0.0.0.0", Unspecified, Unspecified)]
    [InlineData("::ffff:8.8.8.8", null, null)]
    // IPv4-compatible addresses are deprecated and always refused.
    [InlineData("::169.254.169.254", Special, Special)]
    [InlineData("::8.8.8.8", Special, Special)]
    // NAT64 and 6to4 are judged by the embedded IPv4 address.
    [InlineData("64:ff9b::a9fe:a9fe", Metadata, Metadata)]
    [InlineData("64:ff9b::10.0.0.1", Private, Private)]
    [InlineData("64:ff9b::8.8.8.8", null, null)]
    [InlineData("64:ff9b:1::1", Special, Special)]
    [InlineData("2002:a9fe:a9fe::1", Metadata, Metadata)]
    [InlineData("2002:c0a8:0101::1", Private, Private)]
    [InlineData("2002:0808:0808::1", null, null)]
    // Unique local, with AWS's IPv6 metadata address inside it
    [InlineData("fd00:ec2::254", Metadata, Metadata)]
    [InlineData("fd00:ec2::253", Private, Private)]
    [InlineData("fc00::1", Private, Private)]
    [InlineData("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Private, Private)]
    // Link-local, site-local, multicast
    [InlineData("fe80::1", LinkLocal, LinkLocal)]
    [InlineData("febf:ffff::1", LinkLocal, LinkLocal)]
    [InlineData("fec0::1", Special, Special)]
    [InlineData("ff02::1", Multicast, Multicast)]
    [InlineData("ff0e::1", Multicast, Multicast)]
    // Documentation, benchmarking, Teredo and other non-global space
    [InlineData("2001:db8::1", Documentation, Documentation)]
    [InlineData("3fff::1", Documentation, Documentation)]
    [InlineData("2001:2::1", Benchmarking, Benchmarking)]
    [InlineData("2001::1", Special, Special)]
    [InlineData("2001:1ff::1", Special, Special)]
    [InlineData("2001:200::1", null, null)]
    [InlineData("100::1", Special, Special)]
    [InlineData("4000::1", Special, Special)]
    public void IPv6_ranges(string address, string? live, string? test)
    {
        Assert.Equal(live, WebhookUrlPolicy.CheckAddress(IPAddress.Parse(address), livemode: true));
        Assert.Equal(test, WebhookUrlPolicy.CheckAddress(IPAddress.Parse(address), livemode: false));
    }

    [Fact]
    public void Mapped_forms_built_by_the_framework_are_refused_like_their_IPv4_address()
    {
        var mapped = IPAddress.Parse("169.254.169.254").MapToIPv6();
        Assert.Equal(Metadata, WebhookUrlPolicy.CheckAddress(mapped, livemode: false));
        Assert.Equal(Loopback, WebhookUrlPolicy.CheckAddress(IPAddress.Loopback.MapToIPv6(), livemode: true));
        Assert.Null(WebhookUrlPolicy.CheckAddress(IPAddress.Loopback.MapToIPv6(), livemode: false));
    }

    [Theory]
    [InlineData("https://hooks.example.com/kassa", null, null)]
    [InlineData("HTTPS://Hooks.Example.com/kassa?x=1", null, null)]
    [InlineData("https://hooks.example.com:8443/kassa", null, null)]
    [InlineData("https://hooks.example.com./kassa", null, null)]
    [InlineData("https://hooks.example.com/?email=a@b.example", null, null)]
    [InlineData("https://8.8.8.8/", null, null)]
    [InlineData("http://hooks.example.com/", "must use https in live mode", null)]
    [InlineData("ftp://example.com/", "must be an absolute URL starting with https://", "must be an absolute URL starting with http:// or https://")]
    [InlineData("/hooks", "must be an absolute URL starting with https://", "must be an absolute URL starting with http:// or https://")]
    [InlineData("https:example.com", "must be an absolute URL starting with https://", "must be an absolute URL starting with http:// or https://")]
    [InlineData("https:\\\\example.com", "must be an absolute URL starting with https://", "must be an absolute URL starting with http:// or https://")]
    [InlineData("", "must not be empty", "must not be empty")]
    [InlineData("https://example.com\\hooks", "must not contain backslashes", "must not contain backslashes")]
    [InlineData("https://user:pass@example.com/", "must not contain a user name or password", "must not contain a user name or password")]
    [InlineData("https://@example.com/", "must not contain a user name or password", "must not contain a user name or password")]
    [InlineData("https://example.com/#part", "must not contain a fragment", "must not contain a fragment")]
    [InlineData("https:///hooks", "must have a host", "must have a host")]
    [InlineData("https://?x", "must have a host", "must have a host")]
    [InlineData("https://example.com:0/", "must have a port from 1 to 65535", "must have a port from 1 to 65535")]
    [InlineData("https://example.com:65536/", "must be a valid URL", "must be a valid URL")]
    [InlineData("https://exa mple.com/", "must contain only printable ASCII characters (give international host names in punycode)", "must contain only printable ASCII characters (give international host names in punycode)")]
    [InlineData("https://bücher.example/", "must contain only printable ASCII characters (give international host names in punycode)", "must contain only printable ASCII characters (give international host names in punycode)")]
    [InlineData("https://xn--bcher-kva.example/", null, null)]
    // Cloud metadata names, in both modes, whatever their case and with a trailing dot
    [InlineData("https://metadata.google.internal/computeMetadata/v1/", Metadata, Metadata)]
    [InlineData("https://METADATA.Google.Internal./", Metadata, Metadata)]
    [InlineData("http://metadata/", "must use https in live mode", Metadata)]
    [InlineData("https://metadata./", Metadata, Metadata)]
    [InlineData("https://instance-data/latest/", Metadata, Metadata)]
    [InlineData("https://instance-data.ec2.internal/", Metadata, Metadata)]
    // Local names: refused in live mode only
    [InlineData("https://localhost/", "must not be localhost in live mode", null)]
    [InlineData("https://LOCALHOST./", "must not be localhost in live mode", null)]
    [InlineData("https://api.localhost:3000/", "must not be localhost in live mode", null)]
    [InlineData("https://intranet/hooks", "must be a fully qualified host name in live mode", null)]
    [InlineData("https://printer.local/", "must not be a local network name in live mode", null)]
    [InlineData("https://billing.svc.internal/", "must not be a local network name in live mode", null)]
    [InlineData("https://nas.home.arpa/", "must not be a local network name in live mode", null)]
    // Numeric hosts that are not plain IP addresses
    [InlineData("https://1.2.3.4.5/", "must not be a numeric host other than a plain IP address", "must not be a numeric host other than a plain IP address")]
    [InlineData("https://example.0x10/", "must not be a numeric host other than a plain IP address", "must not be a numeric host other than a plain IP address")]
    // Literal addresses go through CheckAddress, including the decimal, hex and short IPv4 forms
    [InlineData("https://169.254.169.254/latest/meta-data/", Metadata, Metadata)]
    [InlineData("https://2852039166/", Metadata, Metadata)]
    [InlineData("https://0xa9fea9fe/", Metadata, Metadata)]
    [InlineData("https://0x7f.1/", Loopback, null)]
    [InlineData("https://127.1/", Loopback, null)]
    [InlineData("https://127.0.0.1:8080/hooks", Loopback, null)]
    [InlineData("https://10.0.0.5/", Private, Private)]
    [InlineData("https://[::1]:8443/", Loopback, null)]
    [InlineData("https://[::ffff:169.254.169.254]/", Metadata, Metadata)]
    [InlineData("https://[::ffff:a9fe:a9fe]/", Metadata, Metadata)]
    [InlineData("https://[fd00:ec2::254]/", Metadata, Metadata)]
    [InlineData("https://[fe80::1%25eth0]/", "must not name an IPv6 zone", "must not name an IPv6 zone")]
    [InlineData("https://[2606:4700:4700::1111]/", null, null)]
    public void Urls(string url, string? live, string? test)
    {
        Assert.Equal(live, WebhookUrlPolicy.CheckUrl(url, livemode: true));
        Assert.Equal(test, WebhookUrlPolicy.CheckUrl(url, livemode: false));
    }

    [Theory]
    [InlineData("http://localhost:3000/webhooks")]
    [InlineData("http://127.0.0.1:4242/")]
    [InlineData("http://[::1]/")]
    [InlineData("http://dev-box/")]
    public void Test_mode_lets_a_developer_receive_over_http_on_their_own_machine(string url) =>
        Assert.Null(WebhookUrlPolicy.CheckUrl(url, livemode: false));

    [Fact]
    public void Urls_are_bounded_at_2048_characters()
    {
        var prefix = "https://hooks.example.com/";
        var atLimit = prefix + new string('a', WebhookUrlPolicy.UrlLengthMax - prefix.Length);
        Assert.Equal(2048, atLimit.Length);
        Assert.Null(WebhookUrlPolicy.CheckUrl(atLimit, livemode: true));
        Assert.Equal("must be at most 2048 characters", WebhookUrlPolicy.CheckUrl(atLimit + "a", livemode: true));
    }
}
