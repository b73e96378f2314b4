using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Cli;

/// <summary>Durability across a killed process: what was committed is delivered after a restart.</summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new("kassa-crash-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Three_server_processes_on_one_postgres_never_overspend_a_balance()
    {
        await using var database = await ProcessDatabase.CreateAsync("postgres", _temp.SqliteDb);
        var db = database.ConnectionString;
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0" };
        var servers = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < 3; i++) servers.Add(await ServerProcess.StartAsync(db, env));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
            var first = servers[0].Url;
            await http.PostAsync(first + "/v1/features", Json("{\"id\":\"calls\",\"name\":\"Calls\",\"type\":\"metered\"}"));
            await http.PostAsync(first + "/v1/products", Json("{\"id\":\"free\",\"name\":\"Free\",\"features\":[{\"feature_id\":\"calls\",\"included\":1000,\"reset\":\"never\"}]}"));
            await http.PutAsync(first + "/v1/customers/race", Json("{}"));
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(first + "/v1/subscribe", Json("{\"customer_id\":\"race\",\"product_id\":\"free\"}"))).StatusCode);

            var allowed = await Task.WhenAll(Enumerable.Range(0, 64).Select(async w =>
            {
                var url = servers[w % 3].Url;
                var count = 0;
                for (var i = 0; i < 18; i++)
                {
                    var r = await http.PostAsync(url + "/v1/check", Json("{\"customer_id\":\"race\",\"feature_id\":\"calls\",\"send_event\":true}"));
                    Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                    if ((bool)System.Text.Json.Nodes.JsonNode.Parse(await r.Content.ReadAsStringAsync())!["allowed"]!) count++;
                }
                return count;
            }));
            Assert.Equal(1000, allowed.Sum());
            var balance = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(servers[2].Url + "/v1/customers/race/balances"))!["data"]![0]!;
            Assert.Equal(1000m, (decimal)balance["used"]!);
            Assert.Equal(0m, (decimal)balance["remaining"]!);
            output.WriteLine($"3 processes, 64 clients, 1,152 attempts: {allowed.Sum()} allowed, overspend {allowed.Sum() - 1000}");
        }
        finally
        {
            foreach (var server in servers) await server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Killing_the_server_under_track_load_keeps_every_acknowledged_track_and_nothing_half_applied(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0" };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var server = await ServerProcess.StartAsync(db, env);
        try
        {
            await http.PostAsync(server.Url + "/v1/features", Json("{\"id\":\"calls\",\"name\":\"Calls\",\"type\":\"metered\"}"));
            await http.PostAsync(server.Url + "/v1/products", Json("{\"id\":\"free\",\"name\":\"Free\",\"features\":[{\"feature_id\":\"calls\",\"included\":100000,\"reset\":\"never\"}]}"));
            await http.PutAsync(server.Url + "/v1/customers/load", Json("{}"));
            var sub = await http.PostAsync(server.Url + "/v1/subscribe", Json("{\"customer_id\":\"load\",\"product_id\":\"free\"}"));
            Assert.Equal(HttpStatusCode.OK, sub.StatusCode);

            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var key = $"w{w}-{i}";
                    try
                    {
                        var r = await http.PostAsync(server.Url + "/v1/track", Json($"{{\"customer_id\":\"load\",\"feature_id\":\"calls\",\"value\":1,\"idempotency_key\":\"{key}\"}}"));
                        if (r.StatusCode == HttpStatusCode.OK)
                            acknowledged[key] = (string)System.Text.Json.Nodes.JsonNode.Parse(await r.Content.ReadAsStringAsync())!["id"]!;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        return; // the server died under us
                    }
                }
            })).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (acknowledged.Count < 300 && DateTime.UtcNow < deadline) await Task.Delay(10);
            await server.DisposeAsync(); // SIGKILL under load
            stop.Cancel();
            await Task.WhenAll(workers);
        }
        finally
        {
            await server.DisposeAsync();
        }
        Assert.True(acknowledged.Count >= 300, $"only {acknowledged.Count} tracks were acknowledged before the kill");

        await using var restarted = await ServerProcess.StartAsync(db, env);
        // Every acknowledged track survived: its key replays to the same usage id instead of counting again.
        foreach (var (key, id) in acknowledged)
        {
            var r = await http.PostAsync(restarted.Url + "/v1/track", Json($"{{\"customer_id\":\"load\",\"feature_id\":\"calls\",\"value\":1,\"idempotency_key\":\"{key}\"}}"));
            Assert.Equal(id, (string)System.Text.Json.Nodes.JsonNode.Parse(await r.Content.ReadAsStringAsync())!["id"]!);
        }
        // Nothing half-applied: the balance's usage equals the consumption in its log.
        var balance = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(restarted.Url + "/v1/customers/load/balances"))!["data"]![0]!;
        decimal consumed = 0;
        string? cursor = null;
        do
        {
            var page = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(restarted.Url + "/v1/credit_transactions?customer_id=load&limit=100" + (cursor is null ? "" : "&starting_after=" + cursor)))!;
            consumed += page["data"]!.AsArray().Where(t => (string?)t!["type"] == "consume").Sum(t => (decimal)t!["amount"]!);
            cursor = (string?)page["next_cursor"];
        }
        while (cursor is not null);
        var used = (decimal)balance["used"]!;
        Assert.Equal(consumed, used);
        Assert.True(used >= acknowledged.Count, $"used {used} < acknowledged {acknowledged.Count}");
        output.WriteLine($"{engine}: {acknowledged.Count} acknowledged before the kill; {used} committed (the rest were in flight, unacknowledged)");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Killing_the_server_under_ingest_load_loses_no_acknowledged_meter_event(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0" };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var server = await ServerProcess.StartAsync(db, env);
        try
        {
            var meter = await http.PostAsync(server.Url + "/v1/meters", Json("{\"id\":\"calls\",\"name\":\"Calls\",\"event_name\":\"call\",\"aggregation\":\"count\"}"));
            Assert.Equal(HttpStatusCode.Created, meter.StatusCode);
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var ids = Enumerable.Range(0, 50).Select(j => $"w{w}-{i}-{j}").ToList();
                    var body = "{\"events\":[" + string.Join(",", ids.Select(id => $"{{\"id\":\"{id}\",\"event_name\":\"call\",\"customer_id\":\"load\"}}")) + "]}";
                    try
                    {
                        var r = await http.PostAsync(server.Url + "/v1/meter_events/batch", Json(body));
                        if (r.StatusCode == HttpStatusCode.Accepted) foreach (var id in ids) acknowledged.Add(id);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        return; // the server died under us
                    }
                }
            })).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (acknowledged.Count < 2_000 && DateTime.UtcNow < deadline) await Task.Delay(10);
            await server.DisposeAsync(); // SIGKILL under load
            stop.Cancel();
            await Task.WhenAll(workers);
        }
        finally
        {
            await server.DisposeAsync();
        }
        Assert.True(acknowledged.Count >= 2_000, $"only {acknowledged.Count} events were acknowledged before the kill");

        await using var restarted = await ServerProcess.StartAsync(db, env);
        // Every acknowledged event is stored: sending it again is a duplicate.
        foreach (var chunk in acknowledged.Chunk(1_000))
        {
            var body = "{\"events\":[" + string.Join(",", chunk.Select(id => $"{{\"id\":\"{id}\",\"event_name\":\"call\",\"customer_id\":\"load\"}}")) + "]}";
            var again = System.Text.Json.Nodes.JsonNode.Parse(await (await http.PostAsync(restarted.Url + "/v1/meter_events/batch", Json(body))).Content.ReadAsStringAsync())!;
            Assert.Equal((0, chunk.Length), ((int)again["accepted"]!, (int)again["duplicates"]!));
        }
        // Nothing half-applied: the rollups count exactly the stored events.
        var stored = 0;
        string? cursor = null;
        do
        {
            var page = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(restarted.Url + "/v1/meter_events?customer_id=load&limit=100" + (cursor is null ? "" : "&starting_after=" + cursor)))!;
            stored += page["data"]!.AsArray().Count;
            cursor = (string?)page["next_cursor"];
        }
        while (cursor is not null);
        var now = DateTimeOffset.UtcNow;
        var from = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-1);
        var usage = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(
            $"{restarted.Url}/v1/meters/calls/usage?customer_id=load&from={from:yyyy-MM-ddTHH}:00:00Z&to={from.AddHours(3):yyyy-MM-ddTHH}:00:00Z"))!;
        Assert.Equal(stored, (int)(decimal)usage["data"]![0]!["value"]!);
        output.WriteLine($"{engine}: {acknowledged.Count} events acknowledged before the kill; {stored} stored (the rest were in flight, unacknowledged)");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Killing_the_server_mid_delivery_loses_no_event(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
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
}
