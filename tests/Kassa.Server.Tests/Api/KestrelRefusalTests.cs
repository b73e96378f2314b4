using System.Text.Json.Nodes;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Requests the web server could refuse before Kassa's code runs, over a real socket. Within the
/// API's limits' reach (up to several times over them) the refusal is Kassa's, in the envelope with a
/// Request-Id; what Kestrel still refuses itself is measured here and answers a bare 4xx, never a 5xx.
/// Runs on both engines.
/// </summary>
public abstract class KestrelRefusalTests(LiveHost host)
{
    private static JsonNode AssertEnvelope(RawHttp.Response r, int status, string code, string? param = null, string type = "invalid_request_error")
    {
        Assert.True(status == r.Status, $"expected {status}, got {r.Status}: {r.Body}");
        Assert.StartsWith("application/json", r.Headers["Content-Type"]);
        var requestId = r.Headers["Request-Id"];
        Assert.StartsWith("req_", requestId);
        var error = JsonNode.Parse(r.Body)!["error"]!;
        Assert.Equal(type, (string?)error["type"]);
        Assert.Equal(code, (string?)error["code"]);
        Assert.Equal(requestId, (string?)error["request_id"]);
        if (param is not null) Assert.Equal(param, (string?)error["param"]);
        return error;
    }

    [Fact]
    public async Task A_url_over_the_limit_answers_414_uri_too_long_in_the_envelope()
    {
        host.RequireEngine();
        var target = "/v1/customers?email=" + new string('a', Kassa.Server.Http.RequestPipeline.TargetLengthMax);
        AssertEnvelope(await RawHttp.GetAsync(host.Url, target), 414, "uri_too_long");
        // Kestrel's old limit (8 KiB for the whole request line) no longer cuts in first: 20,000 characters still get the envelope.
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers?email=" + new string('a', 20_000)), 414, "uri_too_long");
        // At the limit the request is read and routed (here to no route).
        var within = "/v1/" + new string('a', Kassa.Server.Http.RequestPipeline.TargetLengthMax - "/v1/".Length);
        AssertEnvelope(await RawHttp.GetAsync(host.Url, within), 404, "route_not_found", type: "not_found");
    }

    [Fact]
    public async Task Headers_over_the_limit_answer_431_headers_too_large_in_the_envelope()
    {
        host.RequireEngine();
        var big = Enumerable.Range(0, 40).Select(i => $"X-Pad-{i}: {new string('p', 1_000)}").ToArray();
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers", big), 431, "headers_too_large");
        var many = Enumerable.Range(0, 150).Select(i => $"X-Many-{i}: x").ToArray();
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers", many), 431, "headers_too_large");
    }

    [Fact]
    public async Task A_header_with_a_byte_outside_ascii_answers_400_invalid_header_naming_it()
    {
        host.RequireEngine();
        // "José" in UTF-8, sent as raw bytes (0xC3 0xA9).
        var utf8 = System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes("José"));
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers", "X-Name: " + utf8), 400, "invalid_header", "X-Name");
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers", "X-Latin: caf\u00e9"), 400, "invalid_header", "X-Latin");
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers", "X-Control: a\u0001b"), 400, "invalid_header", "X-Control");
        // A key with such bytes is a key that does not exist (Kestrel refused it bare before).
        var withKey = System.Text.Encoding.Latin1.GetBytes("GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk_test_" + utf8 + "\r\nConnection: close\r\n\r\n");
        var badKey = await RawHttp.SendAsync(host.Url, withKey);
        Assert.Equal(401, badKey.Status);
        Assert.Equal("invalid_api_key", (string?)JsonNode.Parse(badKey.Body)!["error"]!["code"]);
        Assert.StartsWith("req_", badKey.Headers["Request-Id"]);
        // Tabs and every printable ASCII character pass.
        Assert.Equal(200, (await RawHttp.GetAsync(host.Url, "/v1/customers", "X-Fine: a\tb ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}")).Status);
    }

    /// <summary>
    /// Measured, not wished: Kestrel refuses these while parsing, before any middleware, and offers no
    /// hook to write a body (aspnet/KestrelHttpServer#2947), so they answer a bare 4xx without
    /// Request-Id. What is asserted is the status: a client error, never a 5xx.
    /// </summary>
    [Fact]
    public async Task What_Kestrel_still_refuses_itself_is_a_bare_4xx_never_a_5xx()
    {
        host.RequireEngine();
        // %00 in the path: Kestrel's path decoder refuses NUL (a NUL in the query reaches Kassa: 400 validation_failed).
        var nul = await RawHttp.GetAsync(host.Url, "/v1/customers/%00");
        Assert.Equal(400, nul.Status);
        Assert.Equal("", nul.Body);
        AssertEnvelope(await RawHttp.GetAsync(host.Url, "/v1/customers?email=%00"), 400, "validation_failed", "email");
        // Far past the API's limits, Kestrel's own (8× for the request line, 2× for headers) refuse first.
        var huge = await RawHttp.GetAsync(host.Url, "/v1/customers?email=" + new string('a', Kassa.Server.Http.RequestPipeline.ServerRequestLineBytesMax));
        Assert.Equal(414, huge.Status);
        Assert.Equal("", huge.Body);
        var hugeHeaders = Enumerable.Range(0, 80).Select(i => $"X-Pad-{i}: {new string('p', 1_000)}").ToArray();
        var tooBig = await RawHttp.GetAsync(host.Url, "/v1/customers", hugeHeaders);
        Assert.Equal(431, tooBig.Status);
        Assert.Equal("", tooBig.Body);
        // A header name is a token: a non-ASCII byte in it breaks the message framing itself.
        var badName = await RawHttp.GetAsync(host.Url, "/v1/customers", "X-Caf\u00e9: 1");
        Assert.Equal(400, badName.Status);
        Assert.Equal("", badName.Body);
    }
}

public sealed class KestrelRefusalTestsSqlite(SqliteLiveHost host) : KestrelRefusalTests(host), IClassFixture<SqliteLiveHost>;

public sealed class KestrelRefusalTestsPostgres(PostgresLiveHost host) : KestrelRefusalTests(host), IClassFixture<PostgresLiveHost>;
