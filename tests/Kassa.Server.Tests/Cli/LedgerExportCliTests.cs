using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// <c>kassa ledger export</c> run as a real process against the database of a real <c>kassa serve</c>,
/// compared byte for byte with <c>GET /v1/ledger/entries.csv</c>; and the hosted link of one server
/// process opened on another process of the same database (the signing secret lives in the database).
/// </summary>
public sealed class LedgerExportCliTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-ledger-cli-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    private static async Task<JsonNode> Send(HttpClient http, HttpMethod method, string url, string? json = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {url} -> {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<string> FinalizedInvoiceAsync(HttpClient http, string url, string customer, params string[] lines)
    {
        var id = (string)(await Send(http, HttpMethod.Post, url + "/v1/invoices", $$"""{"customer_id":"{{customer}}","currency":"usd"}"""))["id"]!;
        foreach (var line in lines) await Send(http, HttpMethod.Post, $"{url}/v1/invoices/{id}/lines", line);
        return (string)(await Send(http, HttpMethod.Post, $"{url}/v1/invoices/{id}/finalize"))["hosted_url"]!;
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Ledger_export_writes_exactly_the_http_csv_and_fails_in_one_line(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        string hostedUrl, httpCsv, httpCsvOfBob;
        await using (var server = await ServerProcess.StartAsync(db, new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey }))
        {
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
            await Send(http, HttpMethod.Put, server.Url + "/v1/customers/ada", """{"name":"Ada"}""");
            await Send(http, HttpMethod.Put, server.Url + "/v1/customers/bob", """{"name":"Bob"}""");
            hostedUrl = await FinalizedInvoiceAsync(http, server.Url, "ada", """{"description":"Plan","amount":123450}""");
            await FinalizedInvoiceAsync(http, server.Url, "bob", """{"description":"=1+1, \"fee\"","amount":999}""");
            httpCsv = await http.GetStringAsync(server.Url + "/v1/ledger/entries.csv");
            httpCsvOfBob = await http.GetStringAsync(server.Url + "/v1/ledger/entries.csv?customer_id=bob");
        }
        Assert.Equal(5, httpCsv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(",usd,Invoice KAS-000002 finalized,invoice,", httpCsv);

        var file = _temp.File("ledger.csv");
        var toFile = await KassaProcess.RunAsync("ledger", "export", "--format", "csv", "--db", db, "--output", file);
        Assert.Equal(0, toFile.ExitCode);
        Assert.Equal("", toFile.Stdout);
        Assert.Matches(@"^kassa: exported 4 rows of acct_\w+ \(test\) to .+ledger\.csv in \d+\.\d s\n$", toFile.Stderr);
        Assert.Equal(httpCsv, await File.ReadAllTextAsync(file));
        Assert.False(File.Exists(file + ".partial"));

        var accountId = System.Text.RegularExpressions.Regex.Match(toFile.Stderr, @"acct_\w+").Value;
        var bob = await KassaProcess.RunAsync("ledger", "export", "--db", db, "--account", accountId, "--mode", "test", "--customer", "bob");
        Assert.Equal(0, bob.ExitCode);
        Assert.Equal(httpCsvOfBob, bob.Stdout);

        var live = await KassaProcess.RunAsync("ledger", "export", "--db", db, "--mode", "live");
        Assert.Equal(0, live.ExitCode);
        Assert.Equal(httpCsv[..(httpCsv.IndexOf("\r\n", StringComparison.Ordinal) + 2)], live.Stdout);
        var before = await KassaProcess.RunAsync("ledger", "export", "--db", db, "--to", "2000-01-01T00:00:00Z");
        Assert.Equal(live.Stdout, before.Stdout);

        foreach (var (args, exit, message) in new (string[], int, string)[]
        {
            (["--from", "yesterday"], 1, "kassa: --from must be an RFC 3339 timestamp with Z or an offset, such as 2026-11-21T10:00:00Z\n"),
            (["--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], 1, "kassa: --to must be after from (the range is from inclusive, to exclusive)\n"),
            (["--currency", "xyz"], 1, "kassa: --currency must be a supported ISO 4217 currency code such as usd\n"),
            (["--account", "acct_nope"], 1, "kassa: no account 'acct_nope'\n"),
        })
        {
            var failed = await KassaProcess.RunAsync(["ledger", "export", "--db", db, .. args], null);
            Assert.Equal(exit, failed.ExitCode);
            Assert.Equal(message, failed.Stderr);
            Assert.Equal("", failed.Stdout);
        }
        var badFormat = await KassaProcess.RunAsync("ledger", "export", "--db", db, "--format", "xml");
        Assert.Equal(KassaProcessExit.Usage, badFormat.ExitCode);
        Assert.Single(badFormat.Stderr.Trim().Split('\n'));

        // A second server process on the same database honours the first one's hosted link: the key
        // that signs links is stored in the database, not made per process.
        await using var other = await ServerProcess.StartAsync(db);
        using var anonymous = new HttpClient();
        var page = await anonymous.GetAsync(other.Url + hostedUrl);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("id=\"amount-due\">$1,234.50</p>", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(other.Url + hostedUrl[..^2] + "xx")).StatusCode);
    }
}

/// <summary>The exit codes of <c>kassa</c> (see <c>KassaCli</c>).</summary>
internal static class KassaProcessExit
{
    public const int Usage = 2;
}
