using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Cli;

/// <summary>The <c>kassa</c> command line, run as a real process.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-cli-tests");

    private string Db => _temp.SqliteDb;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Accounts_create_prints_one_json_object_with_four_keys()
    {
        var r = await KassaProcess.RunAsync("accounts", "create", "--name", "Acme", "--db", Db);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Single(lines);
        var json = JsonNode.Parse(lines[0])!;
        Assert.Matches("^acct_[0-9A-Z]{26}$", (string)json["account_id"]!);
        Assert.Matches("^sk_test_[0-9A-Za-z]{32}$", (string)json["test_secret_key"]!);
        Assert.Matches("^sk_live_[0-9A-Za-z]{32}$", (string)json["live_secret_key"]!);
        Assert.Matches("^pk_test_[0-9A-Za-z]{32}$", (string)json["test_publishable_key"]!);
        Assert.Matches("^pk_live_[0-9A-Za-z]{32}$", (string)json["live_publishable_key"]!);
        Assert.Equal(5, json.AsObject().Count);
    }

    [Fact]
    public async Task Keys_create_makes_a_key_for_an_existing_account_only()
    {
        var account = JsonNode.Parse((await KassaProcess.RunAsync("accounts", "create", "--name", "Acme", "--db", Db)).Stdout)!;
        var r = await KassaProcess.RunAsync("keys", "create", "--account", (string)account["account_id"]!, "--type", "publishable", "--mode", "live", "--db", Db);
        Assert.Equal(0, r.ExitCode);
        var key = JsonNode.Parse(r.Stdout)!;
        Assert.StartsWith("pk_live_", (string)key["raw_key"]!);
        Assert.True((bool)key["livemode"]!);
        Assert.Equal("publishable", (string?)key["type"]);

        var missing = await KassaProcess.RunAsync("keys", "create", "--account", "acct_nope", "--type", "secret", "--mode", "test", "--db", Db);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("kassa: No such account: 'acct_nope'", missing.Stderr.Trim());
    }

    [Fact]
    public async Task Meters_rebuild_recomputes_a_meters_rollups_and_refuses_an_unknown_meter()
    {
        var env = new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey };
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        await using (var server = await ServerProcess.StartAsync(Db, env))
        {
            var meter = await http.PostAsync(server.Url + "/v1/meters",
                new StringContent("{\"id\":\"calls\",\"name\":\"Calls\",\"event_name\":\"call\",\"aggregation\":\"sum\",\"value_property\":\"n\"}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, meter.StatusCode);
            var events = "{\"events\":[" + string.Join(",", Enumerable.Range(0, 30).Select(i => $"{{\"id\":\"e{i}\",\"event_name\":\"call\",\"customer_id\":\"c\",\"properties\":{{\"n\":{i}}}}}")) + "]}";
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync(server.Url + "/v1/meter_events/batch", new StringContent(events, Encoding.UTF8, "application/json"))).StatusCode);
        }
        var r = await KassaProcess.RunAsync("meters", "rebuild", "--meter", "calls", "--db", Db);
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^rebuilt meter calls of acct_[0-9A-Z]{26} \(test\): 30 events read, [12] hourly cells, [0-9.]+ s$", r.Stdout.Trim());

        var missing = await KassaProcess.RunAsync("meters", "rebuild", "--meter", "nope", "--db", Db);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("kassa: no meter 'nope' in any account", missing.Stderr.Trim());
    }

    [Theory]
    [InlineData("serve", "--bogus")]
    [InlineData("keys", "create", "--account", "acct_x", "--type", "admin", "--mode", "test")]
    [InlineData("accounts", "create")]
    [InlineData("launch")]
    public async Task Bad_flags_give_one_line_and_exit_2(params string[] args)
    {
        var r = await KassaProcess.RunAsync(args);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("kassa: ", line);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=3")]
    [InlineData("postgres://x:y@127.0.0.1:1/x?sslmode=disable")]
    public async Task An_unreachable_database_is_one_line_and_exit_1(string db)
    {
        var r = await KassaProcess.RunAsync("migrate", "--db", db);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("kassa: cannot use the database: ", line);
        Assert.DoesNotContain(" at ", line);
    }

    [Fact]
    public async Task A_bad_bootstrap_key_is_refused_in_one_line()
    {
        var r = await KassaProcess.RunAsync(["serve", "--urls", $"http://127.0.0.1:{KassaProcess.FreePort()}", "--db", Db],
            new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = "sk_live_notatestkeynotatestkey" });
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("kassa: KASSA_BOOTSTRAP_KEY must start with sk_test_ and contain only letters, digits and _", r.Stderr.Trim());
    }

    [Fact]
    public async Task Serve_warms_up_on_a_scratch_store_before_it_listens_and_leaves_the_real_store_untouched()
    {
        const string key = "sk_test_warmupwarmupwarmupwarmup01";
        await using var server = await ServerProcess.StartAsync(Db,
            new Dictionary<string, string> { ["KASSA_WARMUP_SECONDS"] = "2", ["KASSA_BOOTSTRAP_KEY"] = key });
        var lines = server.Output.Split('\n');
        var warming = Array.FindIndex(lines, l => l.StartsWith("kassa warming up on a scratch store until the JIT settles, at most 2 s", StringComparison.Ordinal));
        var warmed = Array.FindIndex(lines, l => l.StartsWith("kassa warmed up: ", StringComparison.Ordinal));
        var listening = Array.FindIndex(lines, l => l.StartsWith("kassa listening on ", StringComparison.Ordinal));
        Assert.True(warming >= 0 && warmed > warming && listening > warmed, server.Output);
        var figures = System.Text.RegularExpressions.Regex.Match(lines[warmed], @"^kassa warmed up: (\d+) requests in [\d.]+ s, (\d+) failed; stopped at the limit before the JIT settled$");
        Assert.True(figures.Success, lines[warmed]);
        Assert.True(long.Parse(figures.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, lines[warmed]);
        Assert.Equal("0", figures.Groups[2].Value);

        // The real store holds its own account only: none of the scratch customers, features or events.
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(server.Url + "/v1/customers/warm_0")).StatusCode);
        var customers = await http.GetStringAsync(server.Url + "/v1/customers");
        Assert.DoesNotContain("warm_", customers);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(server.Url + "/v1/features/warm_calls")).StatusCode);
    }

    [Theory]
    [InlineData("KASSA_MUTATION_BATCH_SIZE", "0", "KASSA_MUTATION_BATCH_SIZE must be a whole number from 1 to 1000")]
    [InlineData("KASSA_BALANCE_WRITERS", "65", "KASSA_BALANCE_WRITERS must be a whole number from 1 to 64")]
    [InlineData("KASSA_MUTATION_BATCH_WAIT_MS", "101", "KASSA_MUTATION_BATCH_WAIT_MS must be a whole number of milliseconds from 0 to 100")]
    [InlineData("KASSA_WARMUP_SECONDS", "61", "KASSA_WARMUP_SECONDS must be a whole number of seconds from 0 to 60 (0 turns the warm-up off)")]
    [InlineData("KASSA_WEBHOOK_LEASE_SECONDS", "two", "KASSA_WEBHOOK_LEASE_SECONDS must be a whole number of seconds from 1 to 3600")]
    public async Task A_whole_number_setting_out_of_range_or_not_a_number_is_refused_in_one_line(string name, string value, string message)
    {
        var r = await KassaProcess.RunAsync(["serve", "--urls", $"http://127.0.0.1:{KassaProcess.FreePort()}", "--db", Db],
            new Dictionary<string, string> { [name] = value });
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("kassa: " + message, r.Stderr.Trim());
    }

    [Fact]
    public async Task Serve_without_a_bootstrap_key_prints_a_working_key_once()
    {
        string key;
        await using (var server = await ServerProcess.StartAsync(Db))
        {
            var line = server.Output.Split('\n').Single(l => l.StartsWith("test secret key (shown once", StringComparison.Ordinal));
            key = line[(line.LastIndexOf(' ') + 1)..].Trim();
            Assert.StartsWith("sk_test_", key);
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(server.Url + "/v1/customers")).StatusCode);
        }
        await using (var again = await ServerProcess.StartAsync(Db))
        {
            Assert.DoesNotContain("created account", again.Output);
            Assert.DoesNotContain(key, again.Output);
        }
    }

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Serve_with_a_bootstrap_key_answers_over_real_http(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, Db);
        var db = database.ConnectionString;
        await using var server = await ServerProcess.StartAsync(db!, new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey });
        Assert.Contains($"kassa listening on {server.Url}", server.Output);
        Assert.Contains($"storage: {engine}", server.Output);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);

        var put = await http.PutAsync(server.Url + "/v1/customers/user_1", new StringContent("{\"name\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.StartsWith("req_", put.Headers.GetValues("Request-Id").Single());

        // Kestrel itself refuses a NUL in the path, before Kassa runs; still a 4xx, never a 5xx.
        var nul = await RawRequestStatus(server.Url, "GET /v1/customers/%00 HTTP/1.1");
        Assert.Equal(400, nul);

        var big = new string('a', (1 << 20) + 10);
        // Expect: 100-continue lets the server refuse by Content-Length before the upload; without
        // it the refusal can race the client's write and surface as a broken pipe instead.
        using var oversized = new HttpRequestMessage(HttpMethod.Post, server.Url + "/v1/customers")
        {
            Content = new StringContent("{\"name\":\"" + big + "\"}", Encoding.UTF8, "application/json"),
        };
        oversized.Headers.ExpectContinue = true;
        var tooBig = await http.SendAsync(oversized);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Equal("payload_too_large", (string?)JsonNode.Parse(await tooBig.Content.ReadAsStringAsync())!["error"]!["code"]);

        // The per-request log line names the key id, never the key.
        await Task.Delay(200);
        Assert.Contains("PUT /v1/customers/{id} -> 201", server.Output);
        Assert.DoesNotContain(KassaHost.BootstrapKey, server.Output);

        // Nor does the database hold it: only its SHA-256.
        if (engine == "sqlite")
        {
            var bytes = Directory.GetFiles(_temp.Path).SelectMany(File.ReadAllBytes).ToArray();
            Assert.True(bytes.Length > 0);
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(KassaHost.BootstrapKey)));
            Assert.NotEqual(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Kassa.Core.Keys.ApiKeyFormat.Hash(KassaHost.BootstrapKey))));
        }
    }

    private static async Task<int> RawRequestStatus(string url, string requestLine)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{requestLine}\r\nHost: {uri.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var status = await reader.ReadLineAsync() ?? "";
        return int.Parse(status.Split(' ')[1]);
    }
}
