using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Server.Hosting;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Stripe;
using Kassa.Server.Tests.Support;
using Kassa.Stripe;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// Issue 13 item 6 (the fake Stripe): a real <c>kassa serve</c> process, pointed at the fake Stripe running
/// in the test process (<c>KASSA_STRIPE_API_BASE</c>, <c>KASSA_SECRETS_KEY</c>), is killed with SIGKILL right
/// after Stripe created the PaymentIntent and before the outcome was recorded
/// (<c>KASSA_FAULT=kill_after_provider_charge</c>). The restarted process (reconcile grace 0 s) asks Stripe
/// again with the attempt's id as <c>Idempotency-Key</c>: Stripe replays the same PaymentIntent, so the fake
/// holds exactly one for that key; the payment succeeds once, the invoice is paid once with one journal
/// entry, and the ledger self-check holds. The card is saved through the webhook pipeline, as in
/// production. On SQLite and on PostgreSQL.
/// </summary>
public sealed class CrashStripeTests(ITestOutputHelper output) : IDisposable
{
    private const string StripeKey = "sk_test_51KassaCrashStripeKey000000000000wxyz";
    private const string WebhookSecret = "whsec_kassacrashwebhooksecret000000000001";

    private readonly TempFolder _temp = new("kassa-crash-stripe-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    private static Dictionary<string, string> Env(FakeStripe fake, bool fault)
    {
        var env = new Dictionary<string, string>
        {
            ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey, ["KASSA_RATE_LIMIT"] = "0", ["KASSA_PAYMENT_RECONCILE_GRACE_SECONDS"] = "0",
            ["KASSA_STRIPE_API_BASE"] = fake.Url, ["KASSA_SECRETS_KEY"] = StripePostgresHost.SecretsKey,
        };
        if (fault) env["KASSA_FAULT"] = "kill_after_provider_charge";
        return env;
    }

    private static HttpClient Client(ServerProcess server, string? key = KassaHost.BootstrapKey)
    {
        var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>
    /// Configures Stripe for the bootstrap account, syncs a Kassa customer to a Stripe Customer (as Kassa
    /// does before a card form), attaches Stripe's test Visa at the fake as the customer's browser would,
    /// and delivers the signed <c>payment_method.attached</c> to the server's webhook URL. Answers the
    /// customer and the method Kassa saved.
    /// </summary>
    private static async Task<(string Customer, string Method)> CustomerWithStripeCardAsync(ServerProcess server, FakeStripe fake, string db)
    {
        using var c = Client(server);
        var put = await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = WebhookSecret });
        Assert.True(put.Status == HttpStatusCode.OK, put.Body?.ToJsonString());
        var webhookUrl = (string)put.Body!["webhook_url"]!;
        var accountId = System.Web.HttpUtility.ParseQueryString(new Uri(new Uri(server.Url), webhookUrl).Query)["account_id"]!;
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada", email = "ada@example.com" })).Status);

        // The Stripe Customer is made through Kassa's Stripe provider on the same database and secrets key (another node, in effect).
        var options = new KassaOptions { Db = db, SecretsKey = StripePostgresHost.SecretsKey, Stripe = new StripeOptions { ApiBase = fake.Url } };
        string stripeCustomer;
        await using (var store = KassaApp.OpenStore(options))
        {
            var providers = new PaymentProviders(new SandboxProvider(), store, KassaApp.Secrets(options, store), [new StripeProviderFactory(options.Stripe)],
                TimeProvider.System);
            var stripe = Assert.IsType<StripeProvider>(await providers.ForAsync(new Tenant(accountId, false)));
            stripeCustomer = (await stripe.EnsureCustomerAsync(store, customer, CancellationToken.None)).Value!;
        }
        var pmId = fake.AttachTestCard(stripeCustomer, "pm_card_visa");

        var payload = StripeApiTests.Event("payment_method.attached", fake.Get(pmId)!);
        using var anonymous = Client(server, key: null);
        using var request = new HttpRequestMessage(HttpMethod.Post, webhookUrl) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", FakeStripe.Sign(payload, WebhookSecret, DateTimeOffset.UtcNow));
        using var delivered = await anonymous.SendAsync(request);
        var receipt = JsonNode.Parse(await delivered.Content.ReadAsStringAsync())!;
        Assert.True(delivered.StatusCode == HttpStatusCode.OK, receipt.ToJsonString());
        Assert.Equal((false, "applied"), ((bool)receipt["duplicate"]!, (string?)receipt["outcome"]));

        var method = Assert.Single((await c.Get($"/v1/customers/{customer}/payment_methods?limit=10")).Body!["data"]!.AsArray())!;
        Assert.Equal(("stripe", "4242"), ((string?)method["provider"], (string?)method["card"]!["last4"]));
        Assert.Equal((string?)method["id"], (string?)(await c.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);
        return (customer, (string)method["id"]!);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_stripe_payment_killed_after_the_payment_intent_was_created_is_completed_once_after_a_restart(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        await using var fake = new FakeStripe();
        fake.Keys[StripeKey] = true;
        string customer, method;
        await using (var doomed = await ServerProcess.StartAsync(db, Env(fake, fault: true)))
        {
            (customer, method) = await CustomerWithStripeCardAsync(doomed, fake, db);
            using var c = Client(doomed);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => c.Post("/v1/payments",
                new { customer_id = customer, amount = 2750, currency = "usd", description = "Credit top-up" }, idempotencyKey: "crash-stripe-1"));
            Assert.True(await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the server should have killed itself after Stripe charged");
        }
        // Stripe made the PaymentIntent (keyed by the attempt's id) before the process died.
        var (paymentId, created) = Assert.Single(fake.PaymentIntentsByKey);
        Assert.Equal(1, created);
        var intent = Assert.Single(fake.All("payment_intent"));
        Assert.Equal((paymentId, "succeeded", 2750L), ((string?)intent["metadata"]!["kassa_payment_id"], (string?)intent["status"], (long)intent["amount"]!));

        await using var restarted = await ServerProcess.StartAsync(db, Env(fake, fault: false));
        using var http = Client(restarted);
        var payments = await Poll.UntilAsync(http, $"/v1/payments?customer_id={customer}&limit=10",
            b => b["data"]!.AsArray().Count == 1 && (string?)b["data"]![0]!["status"] == "succeeded");
        var payment = payments["data"]![0]!;
        Assert.Equal((paymentId, (string?)intent["id"], 2750L, "stripe", method), ((string)payment["id"]!, (string?)payment["provider_charge_id"], (long)payment["amount"]!,
            (string?)payment["provider"], (string?)payment["payment_method_id"]));

        // The reconcile asked again with the same Idempotency-Key: Stripe replayed the first PaymentIntent, none was added.
        var asked = fake.Requests.Where(r => r.Method == "POST" && r.Path == "/v1/payment_intents").ToList();
        Assert.Equal(2, asked.Count);
        Assert.All(asked, r => Assert.Equal(paymentId, r.IdempotencyKey));
        Assert.Equal(1, fake.PaymentIntentsByKey[paymentId]);
        Assert.Single(fake.PaymentIntentsByKey);
        Assert.Single(fake.All("payment_intent"));

        // The client's retry with its Idempotency-Key within the dead request's lease is refused as in use: no second charge either way.
        (await http.Post("/v1/payments", new { customer_id = customer, amount = 2750, currency = "usd", description = "Credit top-up" }, idempotencyKey: "crash-stripe-1"))
            .AssertError(HttpStatusCode.Conflict, "conflict", "idempotency_key_in_use");
        Assert.Single(fake.All("payment_intent"));

        var invoice = (await http.Get($"/v1/invoices/{(string)payment["invoice_id"]!}")).Body!;
        Assert.Equal(("paid", 2750L, 0L), ((string?)invoice["status"], (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        Assert.Single((await http.Get($"/v1/invoices?customer_id={customer}&limit=10")).Body!["data"]!.AsArray());
        Assert.Single((await http.Get($"/v1/payments?customer_id={customer}&limit=10")).Body!["data"]!.AsArray());
        Assert.Equal(["invoice/finalized: 1200 DR 2750 CR 0; 4000 DR 0 CR 2750", "payment/succeeded: 1000 DR 2750 CR 0; 1200 DR 0 CR 2750"],
            await LedgerLines.OfCustomerAsync(http, customer));
        await LedgerSelfCheck.AssertHoldsAsync(http);
        output.WriteLine($"{engine}: {asked.Count} PaymentIntent requests, 1 PaymentIntent {(string?)intent["id"]}");
    }
}
