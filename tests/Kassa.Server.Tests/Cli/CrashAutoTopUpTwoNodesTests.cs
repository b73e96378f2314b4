using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// Issue 13 item 5: two <c>kassa serve</c> processes on one PostgreSQL, both running the auto top-up
/// worker: when the balance falls below the threshold exactly one of them buys — one invoice, one
/// charge, one <c>auto_top_up.succeeded</c> — and nothing more is bought in the rounds that follow.
/// </summary>
public sealed class CrashAutoTopUpTwoNodesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_server_processes_running_the_worker_buy_a_due_top_up_once()
    {
        await using var pg = new PostgresHost();
        var db = await pg.CreateFreshDatabaseAsync();
        if (db is null) Assert.Skip("PostgreSQL is not available: set KASSA_TEST_PG (scripts/test.sh does)");
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0" };
        await using var one = await ServerProcess.StartAsync(db!, env);
        await using var two = await ServerProcess.StartAsync(db!, env);
        using var c = new HttpClient { BaseAddress = new Uri(one.Url), Timeout = TimeSpan.FromSeconds(30) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);

        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = "credits", name = "Credits", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = "pack", name = "Credits pack", prices = new[] { new { type = "one_time", amount = 1000, currency = "usd" } },
            features = new[] { new { feature_id = "credits", included = 1000, reset = "never", overage = "blocked" } },
        })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Put("/v1/customers/ada", new { name = "Ada" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods",
            new { customer_id = "ada", card = new { number = "4242424242424242", exp_month = 12, exp_year = 2040, cvc = "123" } })).Status);
        Assert.Equal("active", (string?)(await c.Post("/v1/subscribe", new { customer_id = "ada", product_id = "pack" })).Body!["status"]);
        Assert.Equal(HttpStatusCode.OK, (await c.Post("/v1/customers/ada/auto_top_up", new { feature_id = "credits", threshold = 100, quantity = 2, product_id = "pack" })).Status);
        var track = await c.Post("/v1/track", new { customer_id = "ada", feature_id = "credits", value = 950 });
        Assert.Equal(50m, (decimal)track.Body!["balance"]!["remaining"]!);

        // Both workers poll every 5 s; within a few rounds one of them has bought.
        decimal remaining = 0;
        for (var i = 0; i < 200 && remaining != 2050m; i++)
        {
            await Task.Delay(100);
            remaining = (decimal)(await c.Get("/v1/customers/ada/balances")).Body!["data"]![0]!["remaining"]!;
        }
        Assert.Equal(2050m, remaining);
        // Let both workers run two more rounds each: nothing more is bought.
        await Task.Delay(TimeSpan.FromSeconds(11));
        var invoices = (await c.Get("/v1/invoices?customer_id=ada&limit=10")).Body!["data"]!.AsArray();
        Assert.Equal([("KAS-000002", "paid", 2000L), ("KAS-000001", "paid", 1000L)],
            invoices.Select(x => ((string)x!["number"]!, (string)x["status"]!, (long)x["total"]!)));
        Assert.Equal(2, (await c.Get("/v1/payments?customer_id=ada&limit=10")).Body!["data"]!.AsArray().Count);
        var events = (await c.Get("/v1/events?object_id=ada&limit=100")).Body!["data"]!.AsArray()
            .Select(e => (string)e!["type"]!).Where(t => t.StartsWith("auto_top_up.", StringComparison.Ordinal));
        Assert.Equal(["auto_top_up.succeeded"], events);
        Assert.Equal(2050m, (decimal)(await c.Get("/v1/customers/ada/balances")).Body!["data"]![0]!["remaining"]!);
        await LedgerSelfCheck.AssertHoldsAsync(c);
        output.WriteLine(one.Output.Contains("auto top-up: 1 bought", StringComparison.Ordinal) ? "node one bought" : "node two bought");
    }
}
