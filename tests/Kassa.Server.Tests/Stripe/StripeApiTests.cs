using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Server.Hosting;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;
using Kassa.Stripe;

namespace Kassa.Server.Tests.Stripe;

/// <summary>
/// Stripe as a provider, through Kassa's HTTP API, against the fake Stripe (both engines): configuring
/// the keys (never answered, encrypted at rest), charging a saved Stripe card for a subscription and for
/// payments, a decline, 3-D Secure, a refund, a rate limit and a timeout that reconcile completes with
/// the same key — exactly one PaymentIntent, one journal entry. Each test uses an account of its own.
/// </summary>
public abstract partial class StripeApiTests(KassaHost host)
{
    private const string StripeKey = "sk_test_51KassaFakeStripeKey0000000000000000abcd";
    private const string WebhookSecret = "whsec_kassafakewebhooksecret0000000000001";

    private FakeStripe Fake => ((IStripeHost)host).Fake;

    /// <param name="WebhookUrl">The <c>webhook_url</c> <c>PUT /v1/providers/stripe</c> answered: where the operator points Stripe's deliveries.</param>
    private sealed record Account(HttpClient Client, Tenant Tenant, CancellationToken Ct, string WebhookUrl);

    private async Task<Account> NewAccountAsync(bool configure = true)
    {
        var created = await host.NewAccountAsync();
        var c = host.Client(created.TestSecretKey);
        var url = $"/v1/providers/stripe/webhooks?account_id={created.AccountId}&livemode=false";
        if (configure)
        {
            Fake.Keys[StripeKey] = true;
            var put = await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = WebhookSecret });
            Assert.True(put.Status == HttpStatusCode.OK, put.Body?.ToJsonString());
            Assert.Equal(url, (string?)put.Body!["webhook_url"]);
        }
        return new Account(c, new Tenant(created.AccountId, false), CancellationToken.None, url);
    }

    private static async Task<string> NewCustomerAsync(HttpClient c)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{id}", new { name = "Ada", email = "ada@example.com" })).Status);
        return id;
    }

    /// <summary>The providers as another node (or the reconcile worker) builds them: same database, same secrets key, same Stripe.</summary>
    private PaymentProviders Providers() =>
        new(new SandboxProvider(), host.Store, KassaApp.Secrets(host.Options, host.Store), [new StripeProviderFactory(host.Options.Stripe)], host.Clock);

    private async Task<StripeProvider> StripeOfAsync(Tenant tenant) => Assert.IsType<StripeProvider>(await Providers().ForAsync(tenant));

    /// <summary>
    /// Saves a Stripe card for a Kassa customer the honest way: Kassa syncs the customer to Stripe (one
    /// Stripe Customer), the customer's browser attaches a test card at Stripe (the fake's attach), and
    /// Stripe delivers the signed <c>payment_method.attached</c> to the tenant's <c>webhook_url</c>. The
    /// pipeline writes the method row (the customer's first becomes its default) and
    /// <c>payment_method.attached</c>; this answers the new method's id.
    /// </summary>
    private async Task<string> SaveStripeCardAsync(Account a, string customer, string testCard)
    {
        var stripe = await StripeOfAsync(a.Tenant);
        var stripeCustomer = (await stripe.EnsureCustomerAsync(host.Store, customer, a.Ct)).Value!;
        var pmId = Fake.AttachTestCard(stripeCustomer, testCard);
        var before = await MethodIdsAsync(a.Client, customer);
        AssertReceipt(await DeliverAsync(a, Event("payment_method.attached", Fake.Get(pmId)!)), duplicate: false, "applied");
        var id = Assert.Single((await MethodIdsAsync(a.Client, customer)).Except(before));
        var method = (await a.Client.Get($"/v1/payment_methods/{id}")).Body!;
        Assert.Equal(("stripe", (string?)Fake.Get(pmId)!["card"]!["last4"]), ((string?)method["provider"], (string?)method["card"]!["last4"]));
        var token = (await host.Store.ReadAsync(s => s.Payments.GetMethodAsync(a.Tenant, id)))!.ProviderToken;
        Assert.Equal($"{stripeCustomer}/{pmId}", token);
        return id;
    }

    private static async Task<string[]> MethodIdsAsync(HttpClient c, string customer) =>
        [.. (await c.Get($"/v1/customers/{customer}/payment_methods?limit=100")).Body!["data"]!.AsArray().Select(m => (string)m!["id"]!)];

    /// <summary>
    /// POSTs a Stripe event to the tenant's webhook URL as Stripe does: no API key, the raw JSON body and
    /// its <c>Stripe-Signature</c> (by default signed now with the configured secret).
    /// </summary>
    private async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> DeliverAsync(Account a, string payload, string? signature = null,
        string? url = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url ?? a.WebhookUrl)
        {
            Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature ?? FakeStripe.Sign(payload, WebhookSecret, host.Clock.GetUtcNow()));
        var response = await host.Client(null).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null, response);
    }

    private static void AssertReceipt((HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) r, bool duplicate, string outcome)
    {
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal((true, duplicate, outcome), ((bool)r.Body!["received"]!, (bool)r.Body["duplicate"]!, (string?)r.Body["outcome"]));
    }

    private static string Ulid() => string.Concat(Guid.NewGuid().ToString("N").ToUpperInvariant().Take(26));

    private async Task<Kassa.Core.Errors.Result<ProviderEvent>> ReadAsync(Tenant tenant, string payload, string signature) =>
        await host.Store.ReadAsync(s => new StripeWebhookReader(KassaApp.Secrets(host.Options, host.Store), new StripeProviderFactory(host.Options.Stripe))
            .ReadAsync(s, tenant, new ProviderDelivery(payload, h => h == "Stripe-Signature" ? signature : null), host.Clock.GetUtcNow(), CancellationToken.None));

    internal static string Event(string type, JsonObject data, JsonObject? previous = null, string? id = null)
    {
        var e = new JsonObject
        {
            ["id"] = id ?? "evt_" + Ulid(), ["object"] = "event", ["api_version"] = "2026-10-28.endive", ["created"] = 1_790_000_000, ["livemode"] = false,
            ["pending_webhooks"] = 1, ["type"] = type, ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["data"] = new JsonObject { ["object"] = data.DeepClone() },
        };
        if (previous is not null) e["data"]!["previous_attributes"] = previous;
        return e.ToJsonString();
    }

    private static async Task<string> OpenInvoiceAsync(HttpClient c, string customer, long amount)
    {
        var id = (string)(await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", description = "Consulting" })).Body!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/lines", new { description = "Line", amount })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/finalize")).Status);
        return id;
    }

    private (string Method, string Path, Dictionary<string, string> Form, string? IdempotencyKey)[] IntentRequests(string paymentId) =>
        [.. Fake.Requests.Where(r => r.Path == "/v1/payment_intents" && r.Form.GetValueOrDefault("metadata[kassa_payment_id]") == paymentId)];

    [Fact]
    public async Task Configuring_stripe_answers_no_secret_and_stores_only_ciphertext()
    {
        var a = await NewAccountAsync(configure: false);
        Assert.Equal(HttpStatusCode.NotFound, (await a.Client.Get("/v1/providers/stripe")).Status);
        // Before: the sandbox serves test mode (and the server caches "no Stripe" for this tenant).
        var customer = await NewCustomerAsync(a.Client);
        object rawCard = new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2031, cvc = "123" } };
        Assert.Equal("sandbox", (string?)(await a.Client.Post("/v1/payment_methods", rawCard)).Body!["provider"]);
        var put = await a.Client.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = WebhookSecret });
        Assert.Equal(HttpStatusCode.OK, put.Status);
        var body = put.Body!.AsObject();
        Assert.Equal(["object", "provider", "livemode", "secret_key_last4", "webhook_secret_set", "webhook_url", "created_at", "updated_at"], body.Select(p => p.Key).ToArray());
        Assert.Equal(("provider_config", "stripe", false, "abcd", true), ((string?)body["object"], (string?)body["provider"], (bool)body["livemode"]!,
            (string?)body["secret_key_last4"], (bool)body["webhook_secret_set"]!));
        Assert.Equal($"/v1/providers/stripe/webhooks?account_id={a.Tenant.AccountId}&livemode=false", (string?)body["webhook_url"]);
        // The PUT dropped this node's cached resolution: Stripe serves the tenant now, and takes no raw card numbers.
        (await a.Client.Post("/v1/payment_methods", rawCard)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unsupported", "card");
        var got = await a.Client.Get("/v1/providers/stripe");
        Assert.Equal(body.ToJsonString(), got.Body!.ToJsonString());
        foreach (var text in new[] { put.Body.ToJsonString(), got.Body.ToJsonString(), (await a.Client.Get("/v1/audit?limit=100")).Body!.ToJsonString() })
        {
            Assert.DoesNotContain(StripeKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(WebhookSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain("kassafake", text, StringComparison.Ordinal);
        }

        // At rest: only AES-GCM ciphertexts, bound to their row and field.
        var row = (await host.Store.ReadAsync(s => s.Providers.GetConfigAsync(a.Tenant, "stripe")))!;
        Assert.StartsWith("v1.", row.SecretKeyCipher, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test", row.SecretKeyCipher, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec", row.WebhookSecretCipher!, StringComparison.Ordinal);
        Assert.DoesNotContain(StripeKey, System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(row.SecretKeyCipher[3..])), StringComparison.Ordinal);
        var secrets = KassaApp.Secrets(host.Options, host.Store);
        Assert.Equal(StripeKey, secrets.Decrypt(row.SecretKeyCipher, SecretBox.Context(a.Tenant.AccountId, false, "stripe", "secret_key")));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() =>
            secrets.Decrypt(row.SecretKeyCipher, SecretBox.Context(a.Tenant.AccountId, false, "stripe", "webhook_secret")));
        if (host.Engine == "sqlite" && !OperatingSystem.IsWindows())
        {
            var keyFile = Path.Combine(Path.GetDirectoryName(Kassa.Storage.StoreFactory.SqliteFilePath(host.Options.Db))!, "kassa-secrets.key");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        // Replacing keeps created_at; without a webhook secret it is no longer set.
        host.Clock.Advance(TimeSpan.FromSeconds(5));
        var replaced = (await a.Client.Put("/v1/providers/stripe", new { secret_key = "sk_test_51Another00000000000000wxyz" })).Body!;
        Assert.Equal(((string?)body["created_at"], "wxyz", false), ((string?)replaced["created_at"], (string?)replaced["secret_key_last4"], (bool)replaced["webhook_secret_set"]!));
        Assert.NotEqual((string?)body["updated_at"], (string?)replaced["updated_at"]);

        var deleted = await a.Client.Delete("/v1/providers/stripe");
        Assert.Equal((HttpStatusCode.OK, "wxyz"), (deleted.Status, (string?)deleted.Body!["secret_key_last4"]));
        Assert.Equal(HttpStatusCode.NotFound, (await a.Client.Get("/v1/providers/stripe")).Status);
        (await a.Client.Delete("/v1/providers/stripe")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.Null(await host.Store.ReadAsync(s => s.Providers.GetConfigAsync(a.Tenant, "stripe")));
        Assert.Equal("sandbox", (string?)(await a.Client.Post("/v1/payment_methods", rawCard)).Body!["provider"]);
    }

    [Fact]
    public async Task Without_KASSA_SECRETS_KEY_postgres_refuses_to_store_secrets_and_sqlite_uses_its_key_file()
    {
        var a = await NewAccountAsync(configure: false);
        var options = new KassaOptions { Db = host.Options.Db };
        var secrets = KassaApp.Secrets(options, host.Store);
        var op = new OperationContext(a.Tenant, Actor.System, "req_test", host.Clock.GetUtcNow());
        var result = await host.Store.WriteAsync(s => ConfigureProvider.Execute(s, op, Providers(), secrets, "stripe", new ConfigureProvider.Request(StripeKey, WebhookSecret)),
            commitIf: _ => false);
        if (host.Engine == "postgres")
        {
            Assert.False(secrets.Available);
            Assert.Equal("secrets_unavailable", result.Error!.Code);
            Assert.Contains("KASSA_SECRETS_KEY", result.Error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(secrets.Available);
            Assert.True(result.IsOk);
            Assert.Equal("abcd", result.Value!.SecretKeyLast4);
        }
        Assert.Equal(400, Kassa.Server.Http.ApiErrors.Classify("secrets_unavailable").Status);
    }

    [Fact]
    public async Task Hostile_configuration_input_answers_4xx_with_its_code()
    {
        var a = await NewAccountAsync(configure: false);
        var c = a.Client;
        (await c.Put("/v1/providers/stripe", new { secret_key = "sk_live_51RealMoneyKey000000000000" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "livemode_mismatch", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = "pk_test_51Publishable00000000000" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "secret_key");
        (await c.Put("/v1/providers/stripe", new { webhook_secret = WebhookSecret })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = "secret_123456789" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "webhook_secret");
        (await c.Put("/v1/providers/stripe", new { secret_key = "sk_test_ with space" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = "sk_test_\u0000\u0001abcdef" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = "sk_test_" + new string('x', 300) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = "sk_test_" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "secret_key");
        (await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, api_version = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field");
        Assert.Equal(HttpStatusCode.BadRequest, (await c.Put("/v1/providers/stripe", new { secret_key = 42 })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.Put("/v1/providers/stripe", new[] { 1, 2 })).Status);
        (await c.Put("/v1/providers/paypal", new { secret_key = StripeKey })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.True((int)(await c.Put("/v1/providers/%E2%82%AC%20x", new { secret_key = StripeKey })).Status is >= 400 and < 500);
        Assert.True((int)(await c.Get("/v1/providers/" + new string('s', 3000))).Status is >= 400 and < 500);
        Assert.Equal(HttpStatusCode.NotFound, (await c.Get("/v1/providers/stripe")).Status);

        // A live Kassa key takes only a live Stripe key.
        var live = host.Client((await host.NewAccountAsync()).LiveSecretKey);
        (await live.Put("/v1/providers/stripe", new { secret_key = StripeKey })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "livemode_mismatch", "secret_key");
        // With Stripe configured, raw card numbers are refused: they never go to Stripe from Kassa.
        var b = await NewAccountAsync();
        var customer = await NewCustomerAsync(b.Client);
        (await b.Client.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2031, cvc = "123" } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unsupported", "card");
    }

    [Fact]
    public async Task A_subscription_is_paid_with_a_saved_stripe_card_through_one_off_session_payment_intent()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var product = Wire.NewId("pro");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Pro", prices = new object[] { new { type = "recurring", amount = 2000, currency = "usd", interval = "month", interval_count = 1 } },
        })).Status);
        var customer = await NewCustomerAsync(c);
        var method = await SaveStripeCardAsync(a, customer, "pm_card_visa");
        Assert.Equal(("stripe", "visa", "4242"), ((string?)(await c.Get($"/v1/payment_methods/{method}")).Body!["provider"],
            (string?)(await c.Get($"/v1/payment_methods/{method}")).Body!["card"]!["brand"], (string?)(await c.Get($"/v1/payment_methods/{method}")).Body!["card"]!["last4"]));

        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal(("active", "paid", 2000L), ((string?)r.Body!["status"], (string?)r.Body["invoice"]!["status"], (long)r.Body["invoice"]!["amount_paid"]!));
        var payment = (await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray().Single()!;
        var paymentId = (string)payment["id"]!;
        Assert.Equal(("succeeded", "stripe", 2000L), ((string?)payment["status"], (string?)payment["provider"], (long)payment["amount"]!));
        var intentId = (string)payment["provider_charge_id"]!;
        Assert.StartsWith("pi_", intentId, StringComparison.Ordinal);

        // What Kassa sent: one off-session confirmed PaymentIntent for the synced customer and saved card, keyed by the attempt.
        var sent = Assert.Single(IntentRequests(paymentId));
        var stripeCustomer = (await host.Store.ReadAsync(s => s.Providers.GetCustomerAsync(a.Tenant, "stripe", customer)))!.ProviderCustomerId;
        var pm = Fake.All("payment_method").Single(p => (string?)p["customer"] == stripeCustomer);
        Assert.Equal(paymentId, sent.IdempotencyKey);
        Assert.Equal(("2000", "usd", stripeCustomer, (string?)pm["id"], "true", "true", "card"), (sent.Form["amount"], sent.Form["currency"], sent.Form["customer"],
            sent.Form["payment_method"], sent.Form["confirm"], sent.Form["off_session"], sent.Form["allowed_payment_method_types[0]"]));
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        Assert.Equal("succeeded", (string?)Fake.Get(intentId)!["status"]);

        // One Stripe Customer, made once, with Kassa's id in its metadata.
        var customers = Fake.All("customer").Where(x => (string?)x["metadata"]!["kassa_customer_id"] == customer).ToList();
        Assert.Equal(stripeCustomer, (string?)Assert.Single(customers)["id"]);
        Assert.Equal(stripeCustomer, (await (await StripeOfAsync(a.Tenant)).EnsureCustomerAsync(host.Store, customer, a.Ct)).Value);
        Assert.Single(Fake.All("customer"), x => (string?)x["metadata"]!["kassa_customer_id"] == customer);

        Assert.Equal([
            "invoice/finalized: 1200 DR 2000 CR 0; 4000 DR 0 CR 2000",
            $"payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000",
        ], await LedgerLines.OfCustomerAsync(c, customer));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_decline_fails_the_payment_with_its_decline_code_and_3ds_answers_requires_action()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        var declined = await SaveStripeCardAsync(a, customer, "pm_card_chargeDeclined");
        var r = await c.Post("/v1/payments", new { customer_id = customer, amount = 1500, currency = "usd", description = "Top-up", payment_method_id = declined });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        Assert.Equal(("failed", "card_declined", "Your card was declined. (decline_code: generic_decline)"),
            ((string?)r.Body!["status"], (string?)r.Body["failure_code"], (string?)r.Body["failure_message"]));
        Assert.StartsWith("pi_", (string)r.Body["provider_charge_id"]!, StringComparison.Ordinal);
        Assert.Equal("open", (string?)(await c.Get($"/v1/invoices/{(string)r.Body["invoice_id"]!}")).Body!["status"]);

        var poor = await SaveStripeCardAsync(a, customer, "pm_card_chargeDeclinedInsufficientFunds");
        var invoice = await OpenInvoiceAsync(c, customer, 700);
        (await c.Post($"/v1/invoices/{invoice}/pay", new { payment_method_id = poor })).AssertError(HttpStatusCode.PaymentRequired, "payment_error", "insufficient_funds", "payment_method_id");

        var secure = await SaveStripeCardAsync(a, customer, "pm_card_authenticationRequired");
        (await c.Post($"/v1/invoices/{invoice}/pay", new { payment_method_id = secure })).AssertError(HttpStatusCode.PaymentRequired, "payment_error", "requires_action", "payment_method_id");
        var payments = (await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray();
        Assert.Equal(["requires_action", "failed", "failed"], payments.Select(p => (string)p!["status"]!).ToArray());
        Assert.Equal(3, Fake.PaymentIntentsByKey.Keys.Count(k => payments.Any(p => (string?)p!["id"] == k)));
        Assert.Equal(["invoice/finalized: 1200 DR 1500 CR 0; 4000 DR 0 CR 1500", "invoice/finalized: 1200 DR 700 CR 0; 4000 DR 0 CR 700"],
            await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(("open", 700L), ((string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"], (long)(await c.Get($"/v1/invoices/{invoice}")).Body!["amount_due"]!));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_refund_goes_to_stripe_keyed_by_kassa_refund_id_and_posts_its_entry()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        await SaveStripeCardAsync(a, customer, "pm_card_visa");
        var pay = await c.Post("/v1/payments", new { customer_id = customer, amount = 2500, currency = "usd", description = "Credits" });
        Assert.Equal("succeeded", (string?)pay.Body!["status"]);
        var paymentId = (string)pay.Body["id"]!;
        var refund = await c.Post($"/v1/payments/{paymentId}/refunds", new { amount = 1000 });
        Assert.Equal(HttpStatusCode.Created, refund.Status);
        var refundId = (string)refund.Body!["id"]!;
        Assert.Equal(("succeeded", 1000L), ((string?)refund.Body["status"], (long)refund.Body["amount"]!));
        var stripeRefund = Fake.Get((string)refund.Body["provider_refund_id"]!)!;
        Assert.Equal(((string?)pay.Body["provider_charge_id"], 1000L, refundId), ((string?)stripeRefund["payment_intent"], (long)stripeRefund["amount"]!,
            (string?)stripeRefund["metadata"]!["kassa_refund_id"]));
        Assert.Equal(refundId, Fake.Requests.Single(r => r.Method == "POST" && r.Path == "/v1/refunds" && r.Form["metadata[kassa_refund_id]"] == refundId).IdempotencyKey);
        var after = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("partially_refunded", 1000L), ((string?)after["status"], (long)after["amount_refunded"]!));
        Assert.Contains("refund/succeeded: 1000 DR 0 CR 1000; 4950 DR 1000 CR 0", await LedgerLines.OfCustomerAsync(c, customer));
        (await c.Post($"/v1/payments/{paymentId}/refunds", new { amount = 1501 })).AssertError(HttpStatusCode.Conflict, "conflict", "refund_exceeds_payment", "amount");
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_rate_limited_charge_stays_processing_and_reconcile_charges_it_once()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        await SaveStripeCardAsync(a, customer, "pm_card_visa");
        Interlocked.Exchange(ref Fake.RateLimitNext, 1);
        var r = await c.Post("/v1/payments", new { customer_id = customer, amount = 1200, currency = "usd", description = "Usage" });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        var paymentId = (string)r.Body!["id"]!;
        Assert.Equal(("processing", null), ((string?)r.Body["status"], (string?)r.Body["failure_code"]));
        Assert.False(Fake.PaymentIntentsByKey.ContainsKey(paymentId));

        var report = await ReconcilePayments.RunOnceAsync(host.Store, Providers(), host.Clock.GetUtcNow() + ReconcilePayments.Grace + TimeSpan.FromSeconds(1), a.Ct);
        Assert.Equal(new ReconcilePayments.Report(1, 0, 0), report);
        Assert.Equal("succeeded", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        Assert.Equal(2, IntentRequests(paymentId).Length);
        Assert.All(IntentRequests(paymentId), x => Assert.Equal(paymentId, x.IdempotencyKey));
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{(string)r.Body["invoice_id"]!}")).Body!["status"]);
        Assert.Single(await LedgerLines.OfCustomerAsync(c, customer), l => l.StartsWith("payment/", StringComparison.Ordinal));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_timeout_after_stripe_charged_leaves_processing_and_reconcile_records_that_one_charge()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        await SaveStripeCardAsync(a, customer, "pm_card_visa");
        var invoice = await OpenInvoiceAsync(c, customer, 3300);
        Fake.HoldNextPaymentIntent = StripeTestOptions.Timeout * 3;

        // The PaymentIntent is made at Stripe but its answer never arrives: the attempt stays processing.
        var r = await c.Post($"/v1/invoices/{invoice}/pay", new { }, idempotencyKey: "pay-timeout-1");
        r.AssertError(HttpStatusCode.ServiceUnavailable, "api_error", "provider_unavailable");
        // Like every 503, it says when to retry.
        Assert.Equal("2", r.Response.Headers.RetryAfter?.ToString());
        var payment = (await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray().Single()!;
        var paymentId = (string)payment["id"]!;
        Assert.Equal(("processing", null), ((string?)payment["status"], (string?)payment["provider_charge_id"]));
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        var intent = Fake.All("payment_intent").Single(p => (string?)p["metadata"]!["kassa_payment_id"] == paymentId);
        Assert.Equal("succeeded", (string?)intent["status"]);
        Assert.Equal(("open", 3300L), ((string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"], (long)(await c.Get($"/v1/invoices/{invoice}")).Body!["amount_due"]!));
        Assert.DoesNotContain(await LedgerLines.OfCustomerAsync(c, customer), l => l.StartsWith("payment/", StringComparison.Ordinal));

        // Reconcile asks again with the same key: Stripe replays the same PaymentIntent, recorded once.
        var later = host.Clock.GetUtcNow() + ReconcilePayments.Grace + TimeSpan.FromSeconds(1);
        Assert.Equal(new ReconcilePayments.Report(1, 0, 0), await ReconcilePayments.RunOnceAsync(host.Store, Providers(), later, a.Ct));
        Assert.Equal(new ReconcilePayments.Report(0, 0, 0), await ReconcilePayments.RunOnceAsync(host.Store, Providers(), later, a.Ct));
        var settled = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("succeeded", (string?)intent["id"]), ((string?)settled["status"], (string?)settled["provider_charge_id"]));
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        Assert.Single(Fake.All("payment_intent"), p => (string?)p["metadata"]!["kassa_payment_id"] == paymentId);
        Assert.Equal(2, IntentRequests(paymentId).Length);
        var paid = (await c.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("paid", 3300L, 0L), ((string?)paid["status"], (long)paid["amount_paid"]!, (long)paid["amount_due"]!));
        Assert.Equal(["invoice/finalized: 1200 DR 3300 CR 0; 4000 DR 0 CR 3300", "payment/succeeded: 1000 DR 3300 CR 0; 1200 DR 0 CR 3300"],
            await LedgerLines.OfCustomerAsync(c, customer));

        // The client's retry with its Idempotency-Key finds the same attempt, now paid: no second charge.
        var retry = await c.Post($"/v1/invoices/{invoice}/pay", new { }, idempotencyKey: "pay-timeout-1");
        Assert.Equal((HttpStatusCode.OK, "paid"), (retry.Status, (string?)retry.Body!["status"]));
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        Assert.Single((await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray());
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_sandbox_attempt_begun_before_stripe_was_configured_completes_with_the_sandbox()
    {
        var a = await NewAccountAsync(configure: false);
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        var card = (await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2031, cvc = "123" } })).Body!;
        Assert.Equal("sandbox", (string?)card["provider"]);
        var invoice = await OpenInvoiceAsync(c, customer, 900);
        var op = new OperationContext(a.Tenant, Actor.System, "req_test", host.Clock.GetUtcNow());
        var begun = await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, op, invoice, null), r => r.IsOk);
        Fake.Keys[StripeKey] = true;
        Assert.Equal(HttpStatusCode.OK, (await c.Put("/v1/providers/stripe", new { secret_key = StripeKey, webhook_secret = WebhookSecret })).Status);
        Assert.IsType<StripeProvider>(await Providers().ForAsync(a.Tenant));

        Assert.Equal(new ReconcilePayments.Report(1, 0, 0),
            await ReconcilePayments.RunOnceAsync(host.Store, Providers(), host.Clock.GetUtcNow() + ReconcilePayments.Grace + TimeSpan.FromSeconds(1), a.Ct));
        var payment = (await c.Get($"/v1/payments/{begun.Value}")).Body!;
        Assert.Equal(("succeeded", "sandbox"), ((string?)payment["status"], (string?)payment["provider"]));
        Assert.StartsWith("sbx_ch_", (string)payment["provider_charge_id"]!, StringComparison.Ordinal);
        Assert.Empty(IntentRequests(begun.Value!));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Stripe_checkout_opens_one_session_per_kassa_session_with_the_synced_customer()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a.Client);
        var stripe = await StripeOfAsync(a.Tenant);
        var expires = host.Clock.GetUtcNow().AddHours(1);
        var request = new HostedCheckoutRequest(a.Tenant, "cs_kassa_1", customer, "payment", 4900, "usd", "Pro plan", "https://example.com/ok", "https://example.com/no",
            expires, "cs_kassa_1");
        var first = await stripe.StartHostedCheckoutAsync(host.Store, request, a.Ct);
        Assert.True(first.IsOk, first.Error?.Message);
        Assert.Equal(first.Value, (await stripe.StartHostedCheckoutAsync(host.Store, request, a.Ct)).Value);
        var session = Fake.Get(first.Value!.ProviderSessionId)!;
        var stripeCustomer = (await host.Store.ReadAsync(s => s.Providers.GetCustomerAsync(a.Tenant, "stripe", customer)))!.ProviderCustomerId;
        Assert.Equal(("payment", "cs_kassa_1", stripeCustomer, $"{Fake.Url}/c/pay/{first.Value.ProviderSessionId}"),
            ((string?)session["mode"], (string?)session["client_reference_id"], (string?)session["customer"], first.Value.Url));
        var sent = Fake.Requests.Where(r => r.Path == "/v1/checkout/sessions").ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s => Assert.Equal("cs_kassa_1", s.IdempotencyKey));
        Assert.Equal(("off_session", "4900", "usd", "Pro plan", expires.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (sent[0].Form["payment_intent_data[setup_future_usage]"], sent[0].Form["line_items[0][price_data][unit_amount]"], sent[0].Form["line_items[0][price_data][currency]"],
             sent[0].Form["line_items[0][price_data][product_data][name]"], sent[0].Form["expires_at"]));
        Assert.Single(Fake.All("checkout.session"), s => (string?)s["client_reference_id"] == "cs_kassa_1");

        var setup = await stripe.StartHostedCheckoutAsync(host.Store, request with { CheckoutSessionId = "cs_kassa_2", IdempotencyKey = "cs_kassa_2", Mode = "setup", Amount = null, Currency = null }, a.Ct);
        Assert.Equal("setup", (string?)Fake.Get(setup.Value!.ProviderSessionId)!["mode"]);
        Assert.Equal("validation_failed", (await stripe.StartHostedCheckoutAsync(host.Store, request with { Mode = "subscription" }, a.Ct)).Error!.Code);
    }

    [Fact]
    public async Task The_webhook_reader_verifies_stripe_signatures_and_maps_each_event_type()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a.Client);
        var stripe = await StripeOfAsync(a.Tenant);
        var stripeCustomer = (await stripe.EnsureCustomerAsync(host.Store, customer, a.Ct)).Value!;
        var pmId = Fake.AttachTestCard(stripeCustomer, "pm_card_mastercard");
        var now = host.Clock.GetUtcNow();
        var intent = new JsonObject
        {
            ["id"] = "pi_1", ["object"] = "payment_intent", ["amount"] = 2500, ["amount_received"] = 2500, ["currency"] = "usd", ["status"] = "succeeded",
            ["customer"] = stripeCustomer, ["payment_method"] = pmId, ["metadata"] = new JsonObject { ["kassa_payment_id"] = "pay_1" }, ["livemode"] = false, ["created"] = 1_790_000_000,
        };

        async Task<ProviderEffect?> Effect(string payload) => (await ReadAsync(a.Tenant, payload, FakeStripe.Sign(payload, WebhookSecret, now))).Value!.Effect;

        // Signatures: good; wrong secret; stale (over 300 s); altered body; missing header.
        var good = Event("payment_intent.succeeded", intent, id: "evt_good");
        var read = await ReadAsync(a.Tenant, good, FakeStripe.Sign(good, WebhookSecret, now));
        Assert.True(read.IsOk, read.Error?.Message);
        Assert.Equal(("evt_good", "payment_intent.succeeded", false), (read.Value!.Id, read.Value.Type, read.Value.Livemode));
        Assert.Equal(new ChargeSucceeded("pi_1", "pay_1", 2500, "usd"), read.Value.Effect);
        Assert.Equal("signature_invalid", (await ReadAsync(a.Tenant, good, FakeStripe.Sign(good, "whsec_not_the_secret", now))).Error!.Code);
        Assert.Equal("signature_invalid", (await ReadAsync(a.Tenant, good, FakeStripe.Sign(good, WebhookSecret, now.AddSeconds(-301)))).Error!.Code);
        Assert.True((await ReadAsync(a.Tenant, good, FakeStripe.Sign(good, WebhookSecret, now.AddSeconds(-299)))).IsOk);
        Assert.Equal("signature_invalid", (await ReadAsync(a.Tenant, good.Replace("2500", "9999", StringComparison.Ordinal), FakeStripe.Sign(good, WebhookSecret, now))).Error!.Code);
        Assert.Equal("signature_invalid", (await ReadAsync(a.Tenant, good, "")).Error!.Code);
        Assert.Equal("signature_invalid", (await ReadAsync(a.Tenant, good, "t=abc,v1=zz")).Error!.Code);
        Assert.Equal("signature_invalid", (await ReadAsync(new Tenant(a.Tenant.AccountId, true), good, FakeStripe.Sign(good, WebhookSecret, now))).Error!.Code);

        var failed = (JsonObject)intent.DeepClone();
        failed["status"] = "requires_payment_method";
        failed["last_payment_error"] = new JsonObject { ["type"] = "card_error", ["code"] = "card_declined", ["decline_code"] = "insufficient_funds", ["message"] = "Your card has insufficient funds." };
        Assert.Equal(new ChargeFailed("pi_1", "pay_1", "insufficient_funds", "Your card has insufficient funds. (decline_code: insufficient_funds)"),
            await Effect(Event("payment_intent.payment_failed", failed)));

        var refund = new JsonObject
        {
            ["id"] = "re_1", ["object"] = "refund", ["amount"] = 700, ["currency"] = "usd", ["status"] = "succeeded", ["payment_intent"] = "pi_1", ["charge"] = "ch_1",
            ["metadata"] = new JsonObject { ["kassa_refund_id"] = "re_kassa" }, ["created"] = 1_790_000_100,
        };
        Assert.Equal(new ChargeRefunded("pi_1", "re_1", "re_kassa", 700, "usd"), await Effect(Event("refund.created", refund)));
        Assert.Equal(new ChargeRefunded("pi_1", "re_1", "re_kassa", 700, "usd"), await Effect(Event("refund.updated", refund)));
        var failedRefund = (JsonObject)refund.DeepClone();
        failedRefund["status"] = "failed";
        Assert.Null(await Effect(Event("refund.updated", failedRefund)));
        var charge = new JsonObject
        {
            ["id"] = "ch_1", ["object"] = "charge", ["amount"] = 2500, ["amount_refunded"] = 700, ["currency"] = "usd", ["payment_intent"] = "pi_1", ["refunded"] = false,
            ["created"] = 1_790_000_000, ["refunds"] = new JsonObject { ["object"] = "list", ["data"] = new JsonArray(refund.DeepClone()), ["has_more"] = false, ["url"] = "/v1/charges/ch_1/refunds" },
        };
        Assert.Equal(new ChargeRefunded("pi_1", "re_1", "re_kassa", 700, "usd"), await Effect(Event("charge.refunded", charge)));

        var card = new Kassa.Core.Payments.CardSummary(Kassa.Core.Payments.CardBrand.Mastercard, "4444", 12, 2031);
        Assert.Equal(new MethodAttached(customer, stripeCustomer, $"{stripeCustomer}/{pmId}", card), await Effect(Event("payment_method.attached", Fake.Get(pmId)!)));
        var setupIntent = new JsonObject
        {
            ["id"] = "seti_1", ["object"] = "setup_intent", ["status"] = "succeeded", ["customer"] = stripeCustomer, ["payment_method"] = pmId, ["usage"] = "off_session",
            ["created"] = 1_790_000_000, ["livemode"] = false,
        };
        // The SetupIntent names only the method's id: its card is read from Stripe (the fake).
        Assert.Equal(new MethodAttached(customer, stripeCustomer, $"{stripeCustomer}/{pmId}", card), await Effect(Event("setup_intent.succeeded", setupIntent)));
        var detached = Fake.Get(pmId)!;
        detached["customer"] = null;
        Assert.Equal(new MethodDetached($"{stripeCustomer}/{pmId}"), await Effect(Event("payment_method.detached", detached, new JsonObject { ["customer"] = stripeCustomer })));
        var foreign = Fake.Get(pmId)!;
        foreign["customer"] = "cus_not_kassas";
        Assert.Null(((MethodAttached)(await Effect(Event("payment_method.attached", foreign)))!).CustomerId);

        // Checkout completed (setup mode): Kassa's session from client_reference_id, the card read from Stripe.
        var seti = Fake.All("setup_intent");
        var si = (await stripe.CreateSetupIntentAsync(host.Store, customer, "seti_key_1", a.Ct)).Value;
        Assert.StartsWith("seti_", si.SetupIntentId, StringComparison.Ordinal);
        Assert.Empty(seti);
        var session = new JsonObject
        {
            ["id"] = "cs_test_1", ["object"] = "checkout.session", ["mode"] = "payment", ["client_reference_id"] = "chk_kassa_1", ["customer"] = stripeCustomer,
            ["payment_intent"] = null, ["setup_intent"] = null, ["status"] = "complete", ["payment_status"] = "no_payment_required", ["created"] = 1_790_000_000, ["livemode"] = false,
        };
        Assert.Equal(new CheckoutCompleted("cs_test_1", "chk_kassa_1", null, null, null, null), await Effect(Event("checkout.session.completed", session)));

        foreach (var (stripeStatus, kassaStatus) in new[] { ("needs_response", "needs_response"), ("warning_under_review", "under_review"), ("won", "won"), ("lost", "lost") })
        {
            var dispute = new JsonObject
            {
                ["id"] = "dp_1", ["object"] = "dispute", ["amount"] = 2500, ["currency"] = "usd", ["charge"] = "ch_1", ["payment_intent"] = "pi_1", ["reason"] = "fraudulent",
                ["status"] = stripeStatus, ["created"] = 1_790_000_000, ["livemode"] = false,
            };
            var type = stripeStatus is "won" or "lost" ? "charge.dispute.closed" : "charge.dispute.created";
            Assert.Equal(new DisputeChanged("dp_1", "pi_1", 2500, "usd", "fraudulent", kassaStatus), await Effect(Event(type, dispute)));
        }
        Assert.Null(await Effect(Event("customer.created", Fake.Get(stripeCustomer)!)));
    }
}

public sealed class StripeApiTestsSqlite(StripeSqliteHost host) : StripeApiTests(host), IClassFixture<StripeSqliteHost>;

public sealed class StripeApiTestsPostgres(StripePostgresHost host) : StripeApiTests(host), IClassFixture<StripePostgresHost>;
