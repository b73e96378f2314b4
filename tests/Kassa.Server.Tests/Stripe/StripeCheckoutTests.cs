using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Stripe;

/// <summary>
/// The hosted checkout of a tenant whose provider is Stripe (both engines, against the fake Stripe): the
/// Kassa session's page sends the customer to a Stripe Checkout Session opened once for it, and Stripe's
/// signed <c>checkout.session.completed</c>, delivered to the provider webhook pipeline, completes the
/// Kassa session — the card saved as a Kassa payment method, the invoice paid by the PaymentIntent Stripe
/// made, the subscription active, the same journal entries as any payment — once, however often it is delivered.
/// </summary>
public abstract class StripeCheckoutTests(KassaHost host)
{
    private const string StripeKey = "sk_test_51KassaFakeStripeKey0000000000000000abcd";
    private const string WebhookSecret = "whsec_kassafakewebhooksecret0000000000001";

    private FakeStripe Fake => ((IStripeHost)host).Fake;

    private async Task<(HttpClient Client, string AccountId)> NewStripeAccountAsync()
    {
        var created = await host.NewAccountAsync();
        var c = host.Client(created.TestSecretKey);
        Fake.Keys[StripeKey] = true;
        var put = await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = WebhookSecret });
        Assert.True(put.Status == HttpStatusCode.OK, put.Body?.ToJsonString());
        return (c, created.AccountId);
    }

    private static async Task<string> NewCustomerAsync(HttpClient c)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{id}", new { name = "Ada", email = "ada@example.com" })).Status);
        return id;
    }

    /// <summary>Opens the session's page without following redirects: the Location it sends the browser to.</summary>
    private async Task<string> OpenPageAsync(string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        var response = await host.Client(null).SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.SeeOther, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response.Headers.Location!.ToString();
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body)> DeliverAsync(string accountId, string type, JsonObject data, string? eventId = null, string secret = WebhookSecret)
    {
        var payload = new JsonObject
        {
            ["id"] = eventId ?? "evt_" + Guid.NewGuid().ToString("N")[..24], ["object"] = "event", ["api_version"] = "2026-10-28.endive",
            ["created"] = host.Clock.GetUtcNow().ToUnixTimeSeconds(), ["livemode"] = false, ["pending_webhooks"] = 1, ["type"] = type,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null }, ["data"] = new JsonObject { ["object"] = data.DeepClone() },
        }.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/providers/stripe/webhooks?account_id={accountId}&livemode=false")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", FakeStripe.Sign(payload, secret, host.Clock.GetUtcNow()));
        var response = await host.Client(null).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    [Fact]
    public async Task A_subscription_bought_through_stripe_checkout_is_paid_by_the_completion_event_once()
    {
        var (c, accountId) = await NewStripeAccountAsync();
        var product = Wire.NewId("pro");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Pro plan", prices = new object[] { new { type = "recurring", amount = 2000, currency = "usd", interval = "month", interval_count = 1 } },
        })).Status);
        var customer = await NewCustomerAsync(c);

        var created = await c.Post("/v1/checkout_sessions", new
        {
            customer_id = customer, mode = "subscription", product_id = product, success_url = "https://shop.example/ok", cancel_url = "https://shop.example/cancel",
        });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        var sessionId = (string)created.Body!["id"]!;
        var subscriptionId = (string)created.Body["subscription_id"]!;
        var invoiceId = (string)created.Body["invoice_id"]!;
        Assert.Equal(("open", 2000L), ((string?)created.Body["status"], (long)created.Body["amount_total"]!));
        Assert.DoesNotContain(Fake.Requests, r => r.Path == "/v1/checkout/sessions" && r.IdempotencyKey == sessionId);

        // The page sends the browser to Stripe; opened again, it sends it to the same Stripe session.
        var stripeUrl = await OpenPageAsync((string)created.Body["url"]!);
        Assert.Equal(stripeUrl, await OpenPageAsync((string)created.Body["url"]!));
        var stripeSession = Fake.All("checkout.session").Single(s => (string?)s["client_reference_id"] == sessionId);
        Assert.Equal($"{Fake.Url}/c/pay/{(string)stripeSession["id"]!}", stripeUrl);
        var sent = Assert.Single(Fake.Requests, r => r.Path == "/v1/checkout/sessions" && r.IdempotencyKey == sessionId);
        Assert.Equal(("payment", "2000", "usd", "Pro plan", $"https://shop.example/ok?session_id={sessionId}", "https://shop.example/cancel"),
            (sent.Form["mode"], sent.Form["line_items[0][price_data][unit_amount]"], sent.Form["line_items[0][price_data][currency]"],
             sent.Form["line_items[0][price_data][product_data][name]"], sent.Form["success_url"], sent.Form["cancel_url"]));

        // The customer pays on Stripe's page; Stripe reports it. Delivered twice, it is applied once.
        var completed = Fake.CompleteCheckout((string)stripeSession["id"]!, "pm_card_visa");
        var eventId = "evt_" + Guid.NewGuid().ToString("N")[..24];
        var first = await DeliverAsync(accountId, "checkout.session.completed", completed, eventId);
        Assert.True(first.Status == HttpStatusCode.OK, first.Body?.ToJsonString());
        Assert.Equal((false, "applied"), ((bool)first.Body!["duplicate"]!, (string?)first.Body["outcome"]));
        var again = await DeliverAsync(accountId, "checkout.session.completed", completed, eventId);
        Assert.Equal((true, "applied"), ((bool)again.Body!["duplicate"]!, (string?)again.Body["outcome"]));
        // The same completion under another event id (Stripe's retry of a lost answer is the same id; this is a bug's) changes nothing either.
        Assert.Equal("ignored_already_complete", (string?)(await DeliverAsync(accountId, "checkout.session.completed", completed)).Body!["outcome"]);
        // payment_intent.succeeded for the same PaymentIntent finds the payment already settled.
        var intent = Fake.Get((string)completed["payment_intent"]!)!;
        Assert.Equal("ignored_already_settled", (string?)(await DeliverAsync(accountId, "payment_intent.succeeded", intent)).Body!["outcome"]);

        var session = (await c.Get($"/v1/checkout_sessions/{sessionId}")).Body!;
        var paymentId = (string)session["payment_id"]!;
        var methodId = (string)session["payment_method_id"]!;
        Assert.Equal("complete", (string?)session["status"]);
        var payment = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("succeeded", "stripe", 2000L, invoiceId, (string?)intent["id"], methodId),
            ((string?)payment["status"], (string?)payment["provider"], (long)payment["amount"]!, (string?)payment["invoice_id"], (string?)payment["provider_charge_id"],
             (string?)payment["payment_method_id"]));
        Assert.Single((await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray());
        var method = (await c.Get($"/v1/payment_methods/{methodId}")).Body!;
        Assert.Equal(("stripe", "4242", true), ((string?)method["provider"], (string?)method["card"]!["last4"], (bool)method["is_default"]!));
        Assert.Equal(("paid", 2000L), ((string?)(await c.Get($"/v1/invoices/{invoiceId}")).Body!["status"], (long)(await c.Get($"/v1/invoices/{invoiceId}")).Body!["amount_paid"]!));
        Assert.Equal("active", (string?)(await c.Get($"/v1/subscriptions/{subscriptionId}")).Body!["status"]);
        Assert.Single((await c.Get($"/v1/events?type=checkout.completed&object_id={sessionId}")).Body!["data"]!.AsArray());
        Assert.Single((await c.Get($"/v1/events?type=payment.succeeded&object_id={paymentId}")).Body!["data"]!.AsArray());
        Assert.Equal([
            "invoice/finalized: 1200 DR 2000 CR 0; 4000 DR 0 CR 2000",
            "payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000",
        ], await LedgerLines.OfCustomerAsync(c, customer));
        await LedgerSelfCheck.AssertHoldsAsync(c);

        // A completed session's page no longer sends anyone to Stripe: it says it is paid.
        var page = await host.Client(null).GetAsync((string)created.Body["url"]!);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task A_setup_session_through_stripe_checkout_saves_the_card_as_the_default()
    {
        var (c, accountId) = await NewStripeAccountAsync();
        var customer = await NewCustomerAsync(c);
        var created = await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = "https://shop.example/ok", cancel_url = "https://shop.example/no" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var sessionId = (string)created.Body!["id"]!;
        await OpenPageAsync((string)created.Body["url"]!);
        var stripeSession = Fake.All("checkout.session").Single(s => (string?)s["client_reference_id"] == sessionId);
        Assert.Equal("setup", (string?)stripeSession["mode"]);

        // A completion that names another Kassa session than the one its Stripe session was opened for is refused.
        var completed = Fake.CompleteCheckout((string)stripeSession["id"]!, "pm_card_mastercard");
        var forged = (JsonObject)completed.DeepClone();
        forged["client_reference_id"] = "cs_someone_else";
        Assert.Equal("ignored_unknown_checkout", (string?)(await DeliverAsync(accountId, "checkout.session.completed", forged)).Body!["outcome"]);
        // A delivery signed with another secret does nothing.
        Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync(accountId, "checkout.session.completed", completed, secret: "whsec_not_the_one_configured_here_000000")).Status);
        Assert.Equal("open", (string?)(await c.Get($"/v1/checkout_sessions/{sessionId}")).Body!["status"]);

        Assert.Equal("applied", (string?)(await DeliverAsync(accountId, "checkout.session.completed", completed)).Body!["outcome"]);
        var session = (await c.Get($"/v1/checkout_sessions/{sessionId}")).Body!;
        Assert.Equal(("complete", (string?)null), ((string?)session["status"], (string?)session["payment_id"]));
        var customerBody = (await c.Get($"/v1/customers/{customer}")).Body!;
        Assert.Equal((string?)session["payment_method_id"], (string?)customerBody["default_payment_method_id"]);
        var method = (await c.Get($"/v1/payment_methods/{(string)session["payment_method_id"]!}")).Body!;
        Assert.Equal(("stripe", "mastercard", "4444"), ((string?)method["provider"], (string?)method["card"]!["brand"], (string?)method["card"]!["last4"]));
        Assert.Empty(await LedgerLines.OfCustomerAsync(c, customer));
    }
}

public sealed class StripeCheckoutTestsSqlite(StripeSqliteHost host) : StripeCheckoutTests(host), IClassFixture<StripeSqliteHost>;

public sealed class StripeCheckoutTestsPostgres(StripePostgresHost host) : StripeCheckoutTests(host), IClassFixture<StripePostgresHost>;
