using System.Net;
using Kassa.Server.Http;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// <c>KASSA_MUTATION_BATCHING=0</c>: every mutation in a transaction of its own (the benchmarks' baseline, and
/// the path a request set aside by a batch runs again on). The batcher is on by default on both engines, so
/// this path is proven here: effects, refusals and idempotent replays answer as batched ones do, and no
/// request goes through the batcher.
/// </summary>
public abstract class UnbatchedMutationTests(KassaHost host)
{
    [Fact]
    public async Task Mutations_run_one_transaction_each_with_the_same_answers()
    {
        host.RequireEngine();
        var batcher = host.Services.GetRequiredService<MutationBatcher>();
        Assert.False(batcher.Enabled);
        var itemsBefore = batcher.Items;
        var client = host.Client();
        var feature = Wire.NewId("credits");
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/features", new { id = feature, name = "Credits", type = "metered" })).Status);
        var customer = Wire.NewId("alone");
        Assert.Equal(HttpStatusCode.Created, (await client.Put($"/v1/customers/{customer}", new { name = "First" })).Status);
        var updated = await client.Put($"/v1/customers/{customer}", new { name = "Second" });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal("Second", (string?)updated.Body!["name"]);
        (await client.Post("/v1/customers", new { id = customer, name = "Third" })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");

        var key = "idem-" + Guid.NewGuid().ToString("N");
        var grant = await client.Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 25, category = "paid" }, key);
        Assert.Equal(HttpStatusCode.Created, grant.Status);
        var replay = await client.Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 25, category = "paid" }, key);
        Assert.Equal(HttpStatusCode.Created, replay.Status);
        Assert.Equal((string?)grant.Body!["id"], (string?)replay.Body!["id"]);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        (await client.Post("/v1/credit_grants", new { customer_id = Wire.NewId("missing"), feature_id = feature, amount = 5, category = "paid" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");

        var balance = (await client.Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray().Single()!;
        Assert.Equal(25m, (decimal)balance["granted"]!);
        Assert.Equal(itemsBefore, batcher.Items);
    }
}

public sealed class UnbatchedSqliteHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.MutationBatching = false;
}

public sealed class UnbatchedPostgresHost : PostgresHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.MutationBatching = false;
}

public sealed class UnbatchedMutationTestsSqlite(UnbatchedSqliteHost host) : UnbatchedMutationTests(host), IClassFixture<UnbatchedSqliteHost>;

public sealed class UnbatchedMutationTestsPostgres(UnbatchedPostgresHost host) : UnbatchedMutationTests(host), IClassFixture<UnbatchedPostgresHost>;
