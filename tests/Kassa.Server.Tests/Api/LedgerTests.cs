using System.Net;
using System.Text.Json.Nodes;
using Kassa.Core.Ledger;
using Kassa.Engine.Common;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §9 ledger reads: the chart with balances, entries with from/to, the trial balance as of an
/// instant and the CSV export. Each test posts a known ledger of its own account at fixed instants
/// (through <see cref="PostJournalEntry"/>, the one writer of entries), so every figure, row and
/// boundary is exact. Runs on both engines.
/// </summary>
public abstract class LedgerTests(KassaHost host)
{
    private static readonly DateTimeOffset T1 = new(2026, 1, 10, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T2 = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T3 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed record Known(HttpClient Client, string E1, string E2, string E3);

    /// <summary>
    /// A new account with three entries: an invoice finalized (usd, T1), its payment (usd, T2; a
    /// hostile description with a formula, a comma and quotes) and a usage invoice in yen (T3, a
    /// description with a line break, another customer).
    /// </summary>
    private async Task<Known> KnownLedgerAsync()
    {
        var account = await host.NewAccountAsync("Ledger test account");
        var tenant = new Tenant(account.AccountId, false);
        async Task<string> Post(DateTimeOffset at, string currency, string description, string customer, string type, string id, string action,
            params (LedgerAccount Account, long Signed)[] amounts)
        {
            var op = new OperationContext(tenant, Actor.System, Kassa.Engine.Common.Ids.New("req", at), at);
            var entry = JournalEntry.Create(new EntrySource(type, id, action), currency, amounts);
            var record = await host.Store.WriteAsync(s => PostJournalEntry.Execute(s, op, entry, description, customer));
            return record.Id;
        }
        var e1 = await Post(T1, "usd", "Invoice KAS-000001 finalized", "cus_a", "invoice", "in_a", "finalized",
            (Chart.Receivable, 12_345), (Chart.SubscriptionRevenue, -11_000), (Chart.TaxPayable, -1_345));
        var e2 = await Post(T2, "usd", "=HYPERLINK(\"http://x\",\"paid, thanks\")", "cus_a", "payment", "pay_a", "succeeded",
            (Chart.Cash, 12_345), (Chart.Receivable, -12_345));
        var e3 = await Post(T3, "jpy", "Usage\nJanuary", "cus_b", "invoice", "in_b", "finalized",
            (Chart.Receivable, 5_000), (Chart.UsageRevenue, -5_000));
        return new Known(host.Client(account.TestSecretKey), e1, e2, e3);
    }

    private static async Task<string> CsvAsync(HttpClient c, string query)
    {
        var r = await c.Get("/v1/ledger/entries.csv" + query);
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("text/csv", r.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", r.Response.Content.Headers.ContentType?.CharSet);
        return await r.Response.Content.ReadAsStringAsync();
    }

    private static string[] EntryIds(JsonNode list) => [.. list["data"]!.AsArray().Select(e => (string)e!["id"]!)];

    [Fact]
    public async Task The_csv_export_is_exact_rfc4180_oldest_first_with_formulas_guarded()
    {
        var k = await KnownLedgerAsync();
        const string header = "entry_id,occurred_at,currency,description,source_type,source_id,source_action,customer_id,account_code,account_name,debit,credit\r\n";
        var expected = header +
            $"{k.E1},2026-01-10T09:00:00Z,usd,Invoice KAS-000001 finalized,invoice,in_a,finalized,cus_a,1200,accounts receivable,12345,0\r\n" +
            $"{k.E1},2026-01-10T09:00:00Z,usd,Invoice KAS-000001 finalized,invoice,in_a,finalized,cus_a,2200,tax payable,0,1345\r\n" +
            $"{k.E1},2026-01-10T09:00:00Z,usd,Invoice KAS-000001 finalized,invoice,in_a,finalized,cus_a,4000,subscription revenue,0,11000\r\n" +
            $"{k.E2},2026-01-15T12:00:00Z,usd,\"'=HYPERLINK(\"\"http://x\"\",\"\"paid, thanks\"\")\",payment,pay_a,succeeded,cus_a,1000,cash (provider clearing),12345,0\r\n" +
            $"{k.E2},2026-01-15T12:00:00Z,usd,\"'=HYPERLINK(\"\"http://x\"\",\"\"paid, thanks\"\")\",payment,pay_a,succeeded,cus_a,1200,accounts receivable,0,12345\r\n" +
            $"{k.E3},2026-02-01T00:00:00Z,jpy,\"Usage\nJanuary\",invoice,in_b,finalized,cus_b,1200,accounts receivable,5000,0\r\n" +
            $"{k.E3},2026-02-01T00:00:00Z,jpy,\"Usage\nJanuary\",invoice,in_b,finalized,cus_b,4001,usage revenue,0,5000\r\n";
        Assert.Equal(expected, await CsvAsync(k.Client, ""));

        // Filters: one currency, one customer, and the half-open range (T3 is exactly `to`: excluded).
        var jpyOnly = await CsvAsync(k.Client, "?currency=JPY");
        Assert.Equal(header + string.Concat(expected.Split("\r\n").Where(l => l.StartsWith(k.E3, StringComparison.Ordinal)).Select(l => l + "\r\n")), jpyOnly);
        Assert.Equal(6, (await CsvAsync(k.Client, "?customer_id=cus_a")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        var range = await CsvAsync(k.Client, "?from=2026-01-15T12:00:00Z&to=2026-02-01T00:00:00Z");
        Assert.Equal(header + string.Concat(expected.Split("\r\n").Where(l => l.StartsWith(k.E2, StringComparison.Ordinal)).Select(l => l + "\r\n")), range);
        Assert.Equal(header, await CsvAsync(k.Client, "?customer_id=cus_nobody"));

        // Another account sees none of it.
        Assert.Equal(header, await CsvAsync(host.Client((await host.NewAccountAsync()).TestSecretKey), ""));
    }

    [Fact]
    public async Task From_and_to_are_half_open_and_as_of_counts_only_entries_strictly_before_it()
    {
        var k = await KnownLedgerAsync();
        var c = k.Client;
        Assert.Equal([k.E3, k.E2, k.E1], EntryIds((await c.Get("/v1/ledger/entries")).Body!));
        Assert.Equal([k.E2, k.E1], EntryIds((await c.Get("/v1/ledger/entries?to=2026-02-01T00:00:00Z")).Body!));
        Assert.Equal([k.E3, k.E2], EntryIds((await c.Get("/v1/ledger/entries?from=2026-01-15T12:00:00Z")).Body!));
        Assert.Equal([k.E2], EntryIds((await c.Get("/v1/ledger/entries?from=2026-01-15T12:00:00Z&to=2026-02-01T00:00:00Z")).Body!));
        // An offset is honoured: 13:00+01:00 is 12:00Z, so the entry at 12:00Z is the first one inside.
        Assert.Equal([k.E3, k.E2], EntryIds((await c.Get("/v1/ledger/entries?from=2026-01-15T13:00:00%2B01:00")).Body!));
        Assert.Equal([k.E1], EntryIds((await c.Get("/v1/ledger/entries?customer_id=cus_a&to=2026-01-15T12:00:00Z")).Body!));

        // Paging keeps the range: one per page, newest first, then nothing more.
        var first = (await c.Get("/v1/ledger/entries?to=2026-02-01T00:00:00Z&limit=1")).Body!;
        Assert.Equal([k.E2], EntryIds(first));
        Assert.True((bool)first["has_more"]!);
        var second = (await c.Get($"/v1/ledger/entries?to=2026-02-01T00:00:00Z&limit=1&starting_after={(string)first["next_cursor"]!}")).Body!;
        Assert.Equal([k.E1], EntryIds(second));
        Assert.False((bool)second["has_more"]!);

        async Task<JsonNode> Tb(string query)
        {
            var r = await c.Get("/v1/ledger/trial_balance?" + query);
            Assert.Equal(HttpStatusCode.OK, r.Status);
            return r.Body!;
        }
        static string Figures(JsonNode tb) =>
            string.Join(" ", tb["accounts"]!.AsArray().Where(a => (long)a!["debit"]! != 0 || (long)a["credit"]! != 0)
                .Select(a => $"{(string)a!["code"]!}:{(long)a["debit"]!}/{(long)a["credit"]!}={(long)a["balance"]!}")) + $" | {(long)tb["debits"]!}={(long)tb["credits"]!}";

        // At exactly T2 the payment is not yet counted; one microsecond later it is.
        var atT2 = await Tb("currency=usd&as_of=2026-01-15T12:00:00Z");
        Assert.Equal("2026-01-15T12:00:00Z", (string?)atT2["as_of"]);
        Assert.Equal("1200:12345/0=12345 2200:0/1345=1345 4000:0/11000=11000 | 12345=12345", Figures(atT2));
        Assert.Equal("1000:12345/0=12345 1200:12345/12345=0 2200:0/1345=1345 4000:0/11000=11000 | 24690=24690",
            Figures(await Tb("currency=usd&as_of=2026-01-15T12:00:00.000001Z")));
        Assert.Equal(" | 0=0", Figures(await Tb("currency=usd&as_of=2026-01-10T09:00:00Z")));
        // Default: now, which counts everything; the yen entry stays in yen.
        Assert.Equal("1000:12345/0=12345 1200:12345/12345=0 2200:0/1345=1345 4000:0/11000=11000 | 24690=24690", Figures(await Tb("currency=usd")));
        Assert.Equal("1200:5000/0=5000 4001:0/5000=5000 | 5000=5000", Figures(await Tb("currency=jpy")));
    }

    [Fact]
    public async Task Accounts_list_the_chart_with_exact_balances_per_currency()
    {
        var k = await KnownLedgerAsync();
        var all = await k.Client.Get("/v1/ledger/accounts");
        Assert.Equal(HttpStatusCode.OK, all.Status);
        Assert.Equal("list", (string?)all.Body!["object"]);
        Assert.False((bool)all.Body["has_more"]!);
        var accounts = all.Body["data"]!.AsArray();
        Assert.Equal(["1000", "1200", "1300", "2000", "2100", "2200", "4000", "4001", "4900", "4950", "4960"], accounts.Select(a => (string)a!["code"]!).ToArray());
        var receivable = accounts[1]!;
        Assert.Equal(
            """{"object":"ledger_account","code":"1200","name":"accounts receivable","type":"asset","normal_balance":"debit","balances":[{"currency":"jpy","debit":5000,"credit":0,"balance":5000},{"currency":"usd","debit":12345,"credit":12345,"balance":0}]}""",
            receivable.ToJsonString());
        Assert.Equal(
            """{"object":"ledger_account","code":"2200","name":"tax payable","type":"liability","normal_balance":"credit","balances":[{"currency":"jpy","debit":0,"credit":0,"balance":0},{"currency":"usd","debit":0,"credit":1345,"balance":1345}]}""",
            accounts[5]!.ToJsonString());
        Assert.Equal("contra_revenue", (string?)accounts[8]!["type"]);

        var usd = (await k.Client.Get("/v1/ledger/accounts?currency=USD")).Body!["data"]!.AsArray();
        Assert.Equal(
            "1000:12345/0=12345 1200:12345/12345=0 1300:0/0=0 2000:0/0=0 2100:0/0=0 2200:0/1345=1345 4000:0/11000=11000 4001:0/0=0 4900:0/0=0 4950:0/0=0 4960:0/0=0",
            string.Join(" ", usd.Select(a => a!["balances"]!.AsArray().Single()!).Select((b, i) =>
                $"{(string)usd[i]!["code"]!}:{(long)b!["debit"]!}/{(long)b["credit"]!}={(long)b["balance"]!}")));
        // A currency with no entries shows the chart at zero; an account with no entries has no currencies.
        Assert.All((await k.Client.Get("/v1/ledger/accounts?currency=eur")).Body!["data"]!.AsArray(),
            a => Assert.Equal("""[{"currency":"eur","debit":0,"credit":0,"balance":0}]""", a!["balances"]!.ToJsonString()));
        Assert.All((await host.Client((await host.NewAccountAsync()).TestSecretKey).Get("/v1/ledger/accounts")).Body!["data"]!.AsArray(),
            a => Assert.Empty(a!["balances"]!.AsArray()));
    }

    [Fact]
    public async Task Hostile_ledger_queries_are_refused_with_the_error_envelope()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        foreach (var path in new[] { "/v1/ledger/entries", "/v1/ledger/entries.csv" })
        {
            (await c.Get($"{path}?from=yesterday")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");
            (await c.Get($"{path}?to=2026-01-01T00:00:00")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
            (await c.Get($"{path}?from=2026-02-01T00:00:00Z&to=2026-02-01T00:00:00Z")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
            (await c.Get($"{path}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
            (await c.Get($"{path}?customer_id={new string('a', 129)}")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "customer_id");
            (await c.Get($"{path}?from=2026-13-01T00:00:00Z")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");
            (await c.Get($"{path}?from=%27%20OR%201=1--")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");
        }
        (await c.Get("/v1/ledger/entries.csv?currency=xyz")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        (await c.Get("/v1/ledger/entries?limit=0")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "limit");
        (await c.Get("/v1/ledger/entries?starting_after=garbage")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "starting_after");
        (await c.Get("/v1/ledger/accounts?currency=dollars")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        (await c.Get("/v1/ledger/trial_balance?currency=usd&as_of=now")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "as_of");
        (await c.Get("/v1/ledger/trial_balance?as_of=2026-01-01T00:00:00Z")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "currency");
        // No key: the usual 401, for the CSV as for JSON.
        (await host.Client(null).Get("/v1/ledger/entries.csv")).AssertError(HttpStatusCode.Unauthorized, "authentication_error", "missing_api_key");
        (await host.Client(null).Get("/v1/ledger/accounts")).AssertError(HttpStatusCode.Unauthorized, "authentication_error", "missing_api_key");
    }
}

public sealed class LedgerTestsSqlite(SqliteHost host) : LedgerTests(host), IClassFixture<SqliteHost>;

public sealed class LedgerTestsPostgres(PostgresHost host) : LedgerTests(host), IClassFixture<PostgresHost>;
