using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// Issue 13 item 6 (sandbox): a real <c>kassa serve</c> process killed with SIGKILL right after the
/// provider charged and before the outcome was recorded (<c>KASSA_FAULT=kill_after_provider_charge</c>).
/// The client's connection drops; a restarted process (reconcile grace 0 s so it acts at once) completes
/// the attempt with the same provider key: the sandbox's charge log (<c>KASSA_SANDBOX_CHARGE_LOG</c>) shows
/// exactly one distinct charge, the payment succeeds once, the invoice is paid once with one journal entry,
/// and the ledger self-check holds. On SQLite and on PostgreSQL.
/// </summary>
public sealed class CrashPaymentTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new("kassa-crash-payment-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    private Dictionary<string, string> Env(bool fault)
    {
        var env = new Dictionary<string, string>
        {
            ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0",
            ["KASSA_SANDBOX_CHARGE_LOG"] = _temp.File("charges.log"), ["KASSA_PAYMENT_RECONCILE_GRACE_SECONDS"] = "0",
        };
        if (fault) env["KASSA_FAULT"] = "kill_after_provider_charge";
        return env;
    }

    private static HttpClient Client(ServerProcess server)
    {
        var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        return http;
    }

    /// <summary>The charge log's lines as (idempotency key, charge id).</summary>
    private (string Key, string Charge)[] Charges() =>
        File.Exists(_temp.File("charges.log"))
            ? [.. File.ReadAllLines(_temp.File("charges.log")).Where(l => l.Length > 0).Select(l => l.Split(' ')).Select(p => (p[0], p[1]))]
            : [];

    private static async Task<string> CustomerWithCardAsync(HttpClient c)
    {
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods",
            new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2040, cvc = "123" } })).Status);
        return customer;
    }

    /// <summary>Sends a request the fault kills the server in: the connection drops instead of an answer.</summary>
    private static async Task AssertConnectionDropsAsync(ServerProcess server, Func<Task> request)
    {
        await Assert.ThrowsAnyAsync<HttpRequestException>(request);
        Assert.True(await server.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the server should have killed itself after the provider charged");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_payment_killed_after_the_provider_charged_is_completed_once_after_a_restart(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        string customer;
        await using (var doomed = await ServerProcess.StartAsync(db, Env(fault: true)))
        {
            using var c = Client(doomed);
            customer = await CustomerWithCardAsync(c);
            await AssertConnectionDropsAsync(doomed, () => c.Post("/v1/payments",
                new { customer_id = customer, amount = 1999, currency = "usd", description = "Credit top-up" }, idempotencyKey: "crash-pay-1"));
        }
        var charged = Assert.Single(Charges());

        await using var restarted = await ServerProcess.StartAsync(db, Env(fault: false));
        using var http = Client(restarted);
        var payments = await Poll.UntilAsync(http, $"/v1/payments?customer_id={customer}&limit=10",
            b => b["data"]!.AsArray().Count == 1 && (string?)b["data"]![0]!["status"] == "succeeded");
        var payment = payments["data"]![0]!;
        // The provider's key is the payment's id; the reconcile asked again with it and got the same charge.
        Assert.Equal((charged.Key, charged.Charge, 1999L), ((string)payment["id"]!, (string?)payment["provider_charge_id"], (long)payment["amount"]!));
        var log = Charges();
        Assert.Equal([charged.Charge], log.Select(l => l.Charge).Distinct());
        Assert.Equal([charged.Key], log.Select(l => l.Key).Distinct());

        // The client's retry with its Idempotency-Key within the dead request's 60 s lease is refused as in use; after the
        // lease it would find the attempt by its key (request_key) and answer that payment. Either way: no second charge.
        var retry = await http.Post("/v1/payments", new { customer_id = customer, amount = 1999, currency = "usd", description = "Credit top-up" },
            idempotencyKey: "crash-pay-1");
        retry.AssertError(HttpStatusCode.Conflict, "conflict", "idempotency_key_in_use");
        Assert.Equal([charged.Charge], Charges().Select(l => l.Charge).Distinct());

        var invoice = (await http.Get($"/v1/invoices/{(string)payment["invoice_id"]!}")).Body!;
        Assert.Equal(("paid", 1999L, 0L), ((string?)invoice["status"], (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        Assert.Single((await http.Get($"/v1/invoices?customer_id={customer}&limit=10")).Body!["data"]!.AsArray());
        Assert.Single((await http.Get($"/v1/payments?customer_id={customer}&limit=10")).Body!["data"]!.AsArray());
        Assert.Equal(["invoice/finalized: 1200 DR 1999 CR 0; 4000 DR 0 CR 1999", "payment/succeeded: 1000 DR 1999 CR 0; 1200 DR 0 CR 1999"],
            await LedgerLines.OfCustomerAsync(http, customer));
        await LedgerSelfCheck.AssertHoldsAsync(http);
        output.WriteLine($"{engine}: {Charges().Length} provider calls, 1 distinct charge {charged.Charge}");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_subscribe_killed_after_the_provider_charged_ends_active_with_one_paid_invoice_after_a_restart(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        string customer;
        await using (var doomed = await ServerProcess.StartAsync(db, Env(fault: true)))
        {
            using var c = Client(doomed);
            Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
            {
                id = "pro", name = "Pro", prices = new[] { new { type = "recurring", amount = 2000, currency = "usd", interval = "month" } },
            })).Status);
            customer = await CustomerWithCardAsync(c);
            await AssertConnectionDropsAsync(doomed, () => c.Post("/v1/subscribe", new { customer_id = customer, product_id = "pro" }));
        }
        var charged = Assert.Single(Charges());

        await using var restarted = await ServerProcess.StartAsync(db, Env(fault: false));
        using var http = Client(restarted);
        var subscriptions = await Poll.UntilAsync(http, $"/v1/subscriptions?customer_id={customer}",
            b => b["data"]!.AsArray().Count == 1 && (string?)b["data"]![0]!["status"] == "active");
        var sub = subscriptions["data"]![0]!;
        var invoices = (await http.Get($"/v1/invoices?customer_id={customer}&limit=10")).Body!["data"]!.AsArray();
        var invoice = Assert.Single(invoices)!;
        Assert.Equal(((string?)sub["id"], "paid", 2000L, 2000L), ((string?)invoice["subscription_id"], (string?)invoice["status"], (long)invoice["total"]!,
            (long)invoice["amount_paid"]!));
        var payment = Assert.Single((await http.Get($"/v1/payments?customer_id={customer}&limit=10")).Body!["data"]!.AsArray())!;
        Assert.Equal(("succeeded", charged.Key, charged.Charge), ((string?)payment["status"], (string)payment["id"]!, (string?)payment["provider_charge_id"]));
        Assert.Equal([charged.Charge], Charges().Select(l => l.Charge).Distinct());
        Assert.Equal(["invoice/finalized: 1200 DR 2000 CR 0; 4000 DR 0 CR 2000", "payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000"],
            await LedgerLines.OfCustomerAsync(http, customer));
        await LedgerSelfCheck.AssertHoldsAsync(http);
    }
}
