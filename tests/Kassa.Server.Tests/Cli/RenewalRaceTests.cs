using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Core.Periods;
using Kassa.Server.Tests.Infrastructure;
using Npgsql;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// Issue 12: two <c>kassa serve</c> processes on one PostgreSQL whose renewal workers start at the same
/// moment, both finding the same due subscriptions, bill each period exactly once — one invoice, one
/// charge, one set of journal entries per subscription.
/// </summary>
public sealed class RenewalRaceTests(ITestOutputHelper output)
{
    private const int Subscriptions = 40;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Two_server_processes_renewing_at_once_bill_each_period_once()
    {
        await using var pg = new PostgresHost();
        var db = await pg.CreateFreshDatabaseAsync();
        if (db is null) Assert.Skip("PostgreSQL is not available: set KASSA_TEST_PG (scripts/test.sh does)");
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0" };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);

        // Subscriptions made through the API of a first process, which is then stopped.
        await using (var setup = await ServerProcess.StartAsync(db!, env))
        {
            var u = setup.Url;
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync(u + "/v1/products", Json(
                "{\"id\":\"pro\",\"name\":\"Pro\",\"prices\":[{\"type\":\"recurring\",\"amount\":2000,\"currency\":\"usd\",\"interval\":\"month\"}]}"))).StatusCode);
            for (var i = 0; i < Subscriptions; i++)
            {
                Assert.Equal(HttpStatusCode.Created, (await http.PutAsync($"{u}/v1/customers/race_{i}", Json("{}"))).StatusCode);
                Assert.Equal(HttpStatusCode.Created, (await http.PostAsync(u + "/v1/payment_methods", Json(
                    $"{{\"customer_id\":\"race_{i}\",\"card\":{{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2040,\"cvc\":\"123\"}}}}"))).StatusCode);
                var sub = await http.PostAsync(u + "/v1/subscribe", Json($"{{\"customer_id\":\"race_{i}\",\"product_id\":\"pro\"}}"));
                Assert.Equal("active", (string?)JsonNode.Parse(await sub.Content.ReadAsStringAsync())!["status"]);
            }
        }

        // Their first month is made to have ended a few seconds ago: anchored a month and five seconds back.
        // Whole seconds, so the stored microseconds read back equal to the values compared below.
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var anchor = now.AddMonths(-1).AddSeconds(-5);
        var end = Periods.Boundary(anchor, Interval.Month, 1, 1);
        await using (var connection = new NpgsqlConnection(db))
        {
            await connection.OpenAsync();
            await using var update = new NpgsqlCommand(
                "UPDATE subscriptions SET billing_anchor = $1, current_period_start = $1, current_period_end = $2, usage_billed_through = $1", connection);
            update.Parameters.Add(new NpgsqlParameter { Value = (anchor.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10 });
            update.Parameters.Add(new NpgsqlParameter { Value = (end.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10 });
            Assert.Equal(Subscriptions, await update.ExecuteNonQueryAsync());
        }

        // Two processes start together; each renewal worker runs its first round at start.
        var servers = await Task.WhenAll(ServerProcess.StartAsync(db!, env), ServerProcess.StartAsync(db!, env));
        try
        {
            var url = servers[0].Url;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            int renewed;
            do
            {
                await Task.Delay(250);
                var subs = JsonNode.Parse(await http.GetStringAsync(url + "/v1/subscriptions?status=active&limit=100"))!["data"]!.AsArray();
                renewed = subs.Count(s => DateTimeOffset.Parse((string)s!["current_period_start"]!, System.Globalization.CultureInfo.InvariantCulture) == end);
            }
            while (renewed < Subscriptions && DateTime.UtcNow < deadline);
            Assert.True(renewed == Subscriptions, $"{renewed} of {Subscriptions} renewed; server output: {servers[0].Output} {servers[1].Output}");
            // A renewal commits before its charge is made (the charge is recorded in a transaction of its own),
            // so wait until every invoice is paid — on a loaded machine that can take seconds — and then a little
            // longer, so a straggling round of either node would have written a second invoice or charge.
            bool settled;
            do
            {
                await Task.Delay(250);
                var open = JsonNode.Parse(await http.GetStringAsync(url + "/v1/invoices?status=open&limit=100"))!["data"]!.AsArray();
                settled = open.Count == 0;
            }
            while (!settled && DateTime.UtcNow < deadline);
            Assert.True(settled, $"invoices still open at the deadline; server output: {servers[0].Output} {servers[1].Output}");
            await Task.Delay(1000);

            for (var i = 0; i < Subscriptions; i++)
            {
                var invoices = JsonNode.Parse(await http.GetStringAsync($"{url}/v1/invoices?customer_id=race_{i}&limit=100"))!["data"]!.AsArray();
                Assert.Equal(2, invoices.Count);
                Assert.All(invoices, inv => Assert.Equal("paid", (string?)inv!["status"]));
                var payments = JsonNode.Parse(await http.GetStringAsync($"{url}/v1/payments?customer_id=race_{i}&limit=100"))!["data"]!.AsArray();
                Assert.Equal(2, payments.Count);
            }
            var tb = JsonNode.Parse(await http.GetStringAsync(url + "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z"))!;
            Assert.Equal((long)tb["debits"]!, (long)tb["credits"]!);
            var cash = (long)tb["accounts"]!.AsArray().Single(a => (string?)a!["code"] == "1000")!["balance"]!;
            Assert.Equal(Subscriptions * 2 * 2000L, cash);
            output.WriteLine($"{Subscriptions} subscriptions renewed by two racing processes: {Subscriptions} cycle invoices, cash {cash}");
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
        }
    }
}
