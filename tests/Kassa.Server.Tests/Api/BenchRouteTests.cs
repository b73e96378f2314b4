using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// <c>KASSA_BENCH_ROUTES=1</c>: <c>POST /v1/bench_baseline/check_without_storage</c>, the ceiling bench/wrk.sh
/// measures a check against, must take a check's whole HTTP path (key, body, validation, JSON answer) and nothing
/// else — a route that skipped the validation would flatter the ceiling, one that touched storage would not be one.
/// </summary>
public sealed class BenchRouteTests(BenchRouteSqliteHost host) : IClassFixture<BenchRouteSqliteHost>
{
    [Fact]
    public async Task The_check_without_storage_validates_and_answers_as_a_check_and_stores_nothing()
    {
        host.RequireEngine();
        var client = host.Client();
        // No such customer or feature: a real check answers allowed=false; this one never looks.
        var customer = Wire.NewId("nowhere");
        var answer = await client.Post("/v1/bench_baseline/check_without_storage",
            new { customer_id = customer, feature_id = "api_calls", required_balance = 1, send_event = true });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.True((bool)answer.Body!["allowed"]!);
        Assert.Equal(customer, (string?)answer.Body["customer_id"]);
        Assert.Equal("api_calls", (string?)answer.Body["balance"]!["feature_id"]);
        Assert.Equal(999_999_999m, (decimal)answer.Body["balance"]!["remaining"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await client.Get($"/v1/customers/{customer}")).Status);

        // The check's own validation and errors.
        (await client.Post("/v1/bench_baseline/check_without_storage", new { feature_id = "api_calls" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "customer_id");
        // And its authentication.
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(key: null).Post("/v1/bench_baseline/check_without_storage",
            new { customer_id = customer, feature_id = "api_calls" })).Status);
    }
}

public sealed class BenchRouteSqliteHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.BenchRoutes = true;
}
