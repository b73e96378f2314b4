using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// ADR 0010 across processes: group-committed mutations lose nothing acknowledged when the server is killed,
/// and two servers batching on one PostgreSQL still decide each conflict once.
/// </summary>
public sealed class CrashMutationTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new("kassa-crash-mutation-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpRequestMessage Put(string url, string json, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = Json(json) };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    private static async Task<int> CountAll(HttpClient http, string url)
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = JsonNode.Parse(await http.GetStringAsync(url + "&limit=100" + (cursor is null ? "" : "&starting_after=" + cursor)))!;
            count += page["data"]!.AsArray().Count;
            cursor = (string?)page["next_cursor"];
        }
        while (cursor is not null);
        return count;
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Killing_the_server_under_mutation_load_keeps_every_acknowledged_mutation_and_nothing_half_applied(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0", ["KASSA_MUTATION_BATCHING"] = "1" };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var server = await ServerProcess.StartAsync(database.ConnectionString, env);
        try
        {
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var id = $"crash_w{w}_{i}";
                    try
                    {
                        var r = await http.SendAsync(Put($"{server.Url}/v1/customers/{id}", $"{{\"name\":\"n{i}\"}}", "key-" + id));
                        if (r.StatusCode == HttpStatusCode.Created) acknowledged[id] = await r.Content.ReadAsStringAsync();
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
        Assert.True(acknowledged.Count >= 300, $"only {acknowledged.Count} mutations were acknowledged before the kill");

        await using var restarted = await ServerProcess.StartAsync(database.ConnectionString, env);
        foreach (var (id, body) in acknowledged)
        {
            // Stored with its answer: the key replays the very response that was acknowledged.
            var r = await http.SendAsync(Put($"{restarted.Url}/v1/customers/{id}", $"{{\"name\":\"n{id[(id.LastIndexOf('_') + 1)..]}\"}}", "key-" + id));
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            Assert.Equal("true", r.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(body, await r.Content.ReadAsStringAsync());
        }
        // Nothing half-applied: every stored customer has its one created event, and nothing else has one.
        var customers = await CountAll(http, restarted.Url + "/v1/customers?");
        var created = await CountAll(http, restarted.Url + "/v1/events?type=customer.created");
        Assert.Equal(customers, created);
        Assert.True(customers >= acknowledged.Count, $"{customers} stored < {acknowledged.Count} acknowledged");
        output.WriteLine($"{engine}: {acknowledged.Count} mutations acknowledged before the kill; {customers} committed (the rest were in flight, unacknowledged)");
    }

    [Fact]
    public async Task Two_servers_batching_on_one_postgres_decide_each_conflict_once_and_add_every_grant()
    {
        await using var database = await ProcessDatabase.CreateAsync("postgres", _temp.SqliteDb);
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0", ["KASSA_MUTATION_BATCHING"] = "1" };
        await using var a = await ServerProcess.StartAsync(database.ConnectionString, env);
        await using var b = await ServerProcess.StartAsync(database.ConnectionString, env);
        string[] urls = [a.Url, b.Url];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync(a.Url + "/v1/features", Json("{\"id\":\"credits\",\"name\":\"Credits\",\"type\":\"metered\"}"))).StatusCode);

        // Every id is created four times, twice on each server, all at once: one create wins, three conflict.
        var ids = Enumerable.Range(0, 40).Select(i => $"two_{i}").ToList();
        var creates = await Task.WhenAll(ids.SelectMany(id => Enumerable.Range(0, 4).Select(async n =>
        {
            var r = await http.PostAsync(urls[n % 2] + "/v1/customers", Json($"{{\"id\":\"{id}\",\"name\":\"n{n}\"}}"));
            return (id, r.StatusCode, Body: JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        })));
        foreach (var group in creates.GroupBy(c => c.id))
        {
            Assert.Single(group, c => c.StatusCode == HttpStatusCode.Created);
            Assert.All(group.Where(c => c.StatusCode != HttpStatusCode.Created), c =>
            {
                Assert.Equal(HttpStatusCode.Conflict, c.StatusCode);
                Assert.Equal("already_exists", (string?)c.Body["error"]!["code"]);
            });
        }
        // Five grants per customer, split over both servers: every one is added, none twice.
        var grants = await Task.WhenAll(ids.SelectMany(id => Enumerable.Range(1, 5).Select(n =>
            http.PostAsync(urls[n % 2] + "/v1/credit_grants", Json($"{{\"customer_id\":\"{id}\",\"feature_id\":\"credits\",\"amount\":{n * 10},\"category\":\"paid\"}}")))));
        Assert.All(grants, g => Assert.Equal(HttpStatusCode.Created, g.StatusCode));
        foreach (var id in ids)
        {
            var balance = JsonNode.Parse(await http.GetStringAsync($"{b.Url}/v1/customers/{id}/balances"))!["data"]![0]!;
            Assert.Equal(150m, (decimal)balance["granted"]!);
            Assert.Equal(1, await CountAll(http, $"{a.Url}/v1/events?type=customer.created&object_id={id}"));
        }
        Assert.Equal(ids.Count, await CountAll(http, a.Url + "/v1/events?type=customer.created"));
    }
}
