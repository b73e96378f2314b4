using System.Net;
using Kassa.Engine.Balances;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// <c>KASSA_BENCH_ROUTES=1</c>: <c>POST /v1/bench_baseline/check_without_storage</c>, the ceiling bench/wrk.sh
/// measures a check against, must take a check's whole HTTP path (key, body, validation, JSON answer) and nothing
/// else — a route that skipped the validation would flatter the ceiling, one that touched storage would not be one.
/// <c>check_queued</c> and <c>check_committed</c> carry the same decided check through the balance engine: the first
/// is answered by the writer loop with no transaction, the second rides in a batch of its own (marker and COMMIT) and
/// nothing else; neither loads or writes a balance.
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

public sealed class BenchEngineRouteTests(BenchRouteSqliteHost host) : IClassFixture<BenchRouteSqliteHost>
{
    [Theory]
    [InlineData("check_queued", 0)]
    [InlineData("check_committed", 1)]
    public async Task A_decided_check_goes_through_the_engine_as_far_as_its_route_says_and_stores_nothing(string route, int batches)
    {
        host.RequireEngine();
        var engine = host.Services.GetRequiredService<BalanceEngine>();
        var client = host.Client();
        var customer = Wire.NewId("nowhere");
        var (batchesBefore, operationsBefore) = (engine.Batches, engine.Operations);
        var answer = await client.Post($"/v1/bench_baseline/{route}",
            new { customer_id = customer, feature_id = "api_calls", required_balance = 1, send_event = true });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.True((bool)answer.Body!["allowed"]!);
        Assert.Equal(customer, (string?)answer.Body["customer_id"]);
        Assert.Equal(999_999_999m, (decimal)answer.Body["balance"]!["remaining"]!);
        // A queued check never reaches a batch; a committed one is a batch of one, counted as one operation. The loop
        // counts a batch once its COMMIT returned, which may be a moment after the answer left: wait for it, briefly.
        for (var waited = 0; engine.Batches < batchesBefore + batches && waited < 100; waited++) await Task.Delay(50);
        Assert.Equal(batchesBefore + batches, engine.Batches);
        Assert.Equal(operationsBefore + batches, engine.Operations);
        Assert.Equal(HttpStatusCode.NotFound, (await client.Get($"/v1/customers/{customer}")).Status);
        var movements = await client.Get($"/v1/credit_transactions?customer_id={customer}");
        Assert.Equal(HttpStatusCode.OK, movements.Status);
        Assert.Empty(movements.Body!["data"]!.AsArray());

        (await client.Post($"/v1/bench_baseline/{route}", new { feature_id = "api_calls" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "customer_id");
        Assert.Equal(batchesBefore + batches, engine.Batches);
    }
}

public sealed class BenchRouteSqliteHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.BenchRoutes = true;
}
