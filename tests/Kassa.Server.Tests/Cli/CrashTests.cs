using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Cli;

/// <summary>Durability across a killed process: what was committed is delivered after a restart.</summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kassa-crash-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Killing_the_server_mid_delivery_loses_no_event(string engine)
    {
        Directory.CreateDirectory(_dir);
        var db = $"Data Source={Path.Combine(_dir, "kassa.db")}";
        PostgresHost? pg = null;
        if (engine == "postgres")
        {
            pg = new PostgresHost();
            db = (await pg.CreateFreshDatabaseAsync())!;
            if (db is null) Assert.Skip("PostgreSQL is not available: set KASSA_TEST_PG (scripts/test.sh does)");
        }
        try
        {
            await using var receiver = await WebhookReceiver.StartAsync();
            // Slow answers keep deliveries in flight when the process dies.
            receiver.Respond = _ => new WebhookReceiver.Answer(200, Delay: TimeSpan.FromMilliseconds(400));
            var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_WEBHOOK_LEASE_SECONDS"] = "2" };
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);

            const int count = 40;
            var server = await ServerProcess.StartAsync(db, env);
            try
            {
                var endpoint = await http.PostAsync(server.Url + "/v1/webhook_endpoints",
                    new StringContent($"{{\"url\":\"{receiver.Url}\",\"events\":[\"customer.created\"]}}", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
                for (var i = 0; i < count; i++)
                {
                    var put = await http.PutAsync($"{server.Url}/v1/customers/crash_{i}", new StringContent("{\"name\":\"c\"}", Encoding.UTF8, "application/json"));
                    Assert.Equal(HttpStatusCode.Created, put.StatusCode);
                }
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (receiver.Requests.Count < 3 && DateTime.UtcNow < deadline) await Task.Delay(20);
                Assert.True(receiver.Requests.Count >= 3, "deliveries should have started");
            }
            finally
            {
                await server.DisposeAsync(); // SIGKILL: no graceful shutdown, deliveries in flight are cut off.
            }
            var deliveredBeforeRestart = receiver.Delivered().Count;
            Assert.True(deliveredBeforeRestart < count, "the kill should land mid-delivery");

            await using var restarted = await ServerProcess.StartAsync(db, env);
            var until = DateTime.UtcNow.AddSeconds(60);
            while (receiver.Delivered().Count < count && DateTime.UtcNow < until) await Task.Delay(100);

            var delivered = receiver.Delivered();
            Assert.Equal(count, delivered.Count);
            var duplicates = delivered.Values.Sum(n => n - 1);
            output.WriteLine($"{engine}: {count} events, {deliveredBeforeRestart} delivered before the kill, {duplicates} duplicate deliveries after restart (at least once allows them)");
            var events = await http.GetStringAsync(restarted.Url + "/v1/events?type=customer.created&limit=100");
            Assert.Equal(count, System.Text.Json.Nodes.JsonNode.Parse(events)!["data"]!.AsArray().Count);
        }
        finally
        {
            if (pg is not null) await pg.DisposeAsync();
        }
    }
}
