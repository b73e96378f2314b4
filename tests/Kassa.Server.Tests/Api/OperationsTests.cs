using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Health, readiness, metrics, OpenAPI and docs. Runs on both engines.</summary>
public abstract class OperationsTests(KassaHost host)
{
    [Fact]
    public async Task Healthz_and_readyz_answer_without_a_key_and_name_the_engine()
    {
        var health = await host.Client(key: null).Get("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.Status);
        Assert.Equal("{\"status\":\"ok\"}", health.Body!.ToJsonString());
        var ready = await host.Client(key: null).Get("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal($"{{\"status\":\"ready\",\"engine\":\"{host.Engine}\"}}", ready.Body!.ToJsonString());
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_template_and_status()
    {
        var id = Wire.NewId();
        await host.Client().Put($"/v1/customers/{id}", new { name = "m" });
        await host.Client().Get($"/v1/customers/{id}");
        await host.Client().Get($"/v1/customers/missing_{id}");
        var text = await host.Client(key: null).GetStringAsync("/metrics");
        // Names as docs/operations.md lists them (the OpenTelemetry Prometheus exporter's): exact counts
        // are asserted in MetricsTests, which runs alone; other hosts in this process add to these series.
        Assert.Matches(@"kassa_http_requests_total\{[^}]*http_request_method=""GET"",http_response_status_code=""200"",http_route=""/v1/customers/\{id\}""[^}]*\} [1-9]\d*", text);
        Assert.Matches(@"kassa_http_requests_total\{[^}]*http_request_method=""GET"",http_response_status_code=""404"",http_route=""/v1/customers/\{id\}""[^}]*\} [1-9]\d*", text);
        Assert.Contains("# TYPE kassa_http_request_duration_seconds histogram", text);
        Assert.Matches(@"kassa_http_request_duration_seconds_bucket\{[^}]*http_request_method=""PUT"",http_route=""/v1/customers/\{id\}"",le=""\+Inf""\} [1-9]\d*", text);
        Assert.DoesNotContain(id, text);
    }

    [Fact]
    public async Task Docs_page_is_served_offline()
    {
        var html = await host.Client(key: null).GetStringAsync("/docs/index.html");
        Assert.Contains("swagger-ui", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html.Replace("https://swagger.io", "", StringComparison.Ordinal));
        var js = await host.Client(key: null).GetAsync("/docs/swagger-ui-bundle.js");
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_matches_the_committed_copy()
    {
        var served = await host.Client(key: null).GetStringAsync("/openapi/v1.json");
        var path = Path.Combine(RepoRoot(), "api", "openapi.json");
        if (Environment.GetEnvironmentVariable("KASSA_UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(path, served.ReplaceLineEndings("\n") + "\n");
        Assert.True(File.Exists(path), "api/openapi.json is missing: run the tests once with KASSA_UPDATE_OPENAPI=1");
        var committed = (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n").TrimEnd('\n');
        Assert.True(committed == served.ReplaceLineEndings("\n").TrimEnd('\n'),
            "api/openapi.json differs from the served document: regenerate it with KASSA_UPDATE_OPENAPI=1 scripts/test.sh and commit it");
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kassa.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Kassa.slnx)");
    }
}

public sealed class OperationsTestsSqlite(SqliteHost host) : OperationsTests(host), IClassFixture<SqliteHost>;

public sealed class OperationsTestsPostgres(PostgresHost host) : OperationsTests(host), IClassFixture<PostgresHost>;

/// <summary>A host with a rate limit of 5 requests per second per key (burst 10).</summary>
public sealed class RateLimitedHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.RateLimitPerSecond = 5;
}

public sealed class RateLimitTests(RateLimitedHost host) : IClassFixture<RateLimitedHost>
{
    [Fact]
    public async Task Past_the_limit_a_key_gets_429_with_retry_after_and_other_keys_are_unaffected()
    {
        var client = host.Client();
        var statuses = new List<HttpStatusCode>();
        (HttpStatusCode Status, System.Text.Json.Nodes.JsonNode? Body, HttpResponseMessage Response) limited = default;
        for (var i = 0; i < 40; i++)
        {
            var r = await client.Get("/v1/customers");
            statuses.Add(r.Status);
            if (r.Status == HttpStatusCode.TooManyRequests)
            {
                limited = r;
                break;
            }
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.True(statuses.Count >= 10, $"the burst of 10 passes first; limited after {statuses.Count}");
        Assert.NotNull(limited.Response);
        limited.AssertError(HttpStatusCode.TooManyRequests, "rate_limit_error", "rate_limited");
        var retryAfter = int.Parse(limited.Response.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 2);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(host.Account.LiveSecretKey).Get("/v1/customers")).Status);
    }
}
