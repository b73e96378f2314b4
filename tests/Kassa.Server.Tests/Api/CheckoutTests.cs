using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Kassa.Engine.Checkout;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §8 hosted checkout through the API and the page's own POST handlers (form posts with the nonce
/// parsed from the HTML, as a browser sends them): every mode, every sandbox test card, the 3-D Secure
/// step confirmed and cancelled, a decline then a good card, double submits (one charge), expiry by read,
/// by the sweep and by the API (subscription expired, invoice void, reversing entry), the subscribe flow's
/// checkout_url, and hostile input (4xx pages, never a 5xx). Exact amounts, statuses, events and ledger
/// lines; after each test the ledger self-check holds. Runs on both engines.
/// </summary>
public abstract partial class CheckoutTests(KassaHost host)
{
    private const string Visa = "4242424242424242";
    private const string Declined = "4000000000000002";
    private const string NoFunds = "4000000000009995";
    private const string ThreeDSecure = "4000002500003155";
    private const string ChargeFails = "4000000000000341";
    private const string Success = "https://shop.example/done";
    private const string Cancel = "https://shop.example/cart";

    private sealed record Setup(HttpClient Api, HttpClient Browser, string Customer, string Product);

    [GeneratedRegex("name=\"nonce\" value=\"([0-9a-f]{64})\"")]
    private static partial Regex NonceField();

    private async Task<Setup> SetupAsync(object? freeTrial = null, object[]? prices = null)
    {
        var c = host.Client((await host.NewAccountAsync("Analytical Engines Ltd")).TestSecretKey);
        var feature = Wire.NewId("api");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "API calls", type = "metered" })).Status);
        var product = Wire.NewId("pro");
        var created = await c.Post("/v1/products", new
        {
            id = product, name = "Pro plan", free_trial = freeTrial,
            prices = prices ?? [new { type = "recurring", amount = 2000, currency = "usd", interval = "month", interval_count = 1 }],
            features = new object[] { new { feature_id = feature, included = 100, reset = prices is null ? "month" : "never", overage = "blocked" } },
        });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada Lovelace", email = "ada@example.com" })).Status);
        return new Setup(c, host.Client(null), customer, product);
    }

    private static async Task<JsonNode> CreateAsync(HttpClient c, object body)
    {
        var r = await c.Post("/v1/checkout_sessions", body);
        Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
        return r.Body!;
    }

    private static async Task<JsonNode> GetAsync(HttpClient c, string path)
    {
        var r = await c.Get(path);
        Assert.True(r.Status == HttpStatusCode.OK, $"{path}: {r.Status} {r.Body?.ToJsonString()}");
        return r.Body!;
    }

    private static async Task<(HttpStatusCode Status, string Html)> PageAsync(HttpClient browser, string url)
    {
        var r = await browser.GetAsync(url);
        var html = await r.Content.ReadAsStringAsync();
        Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        return (r.StatusCode, html);
    }

    private static string Nonce(string html) => NonceField().Match(html) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no nonce in " + html);

    private static string Action(string url, string step) => url.Replace("?token=", $"/{step}?token=", StringComparison.Ordinal);

    private static async Task<(HttpStatusCode Status, string? Location, string Html)> PostFormAsync(HttpClient browser, string path, IEnumerable<KeyValuePair<string, string>> fields,
        Action<HttpRequestMessage>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        headers?.Invoke(request);
        var r = await browser.SendAsync(request);
        return (r.StatusCode, r.Headers.Location?.OriginalString, await r.Content.ReadAsStringAsync());
    }

    /// <summary>Opens the page, reads its nonce, and posts the card form as a browser would.</summary>
    private static async Task<(HttpStatusCode Status, string? Location, string Html)> PayAsync(HttpClient browser, string url, string number, string month = "12",
        string year = "2031", string cvc = "123")
    {
        var (status, html) = await PageAsync(browser, url);
        Assert.Equal(HttpStatusCode.OK, status);
        return await PostFormAsync(browser, Action(url, "pay"), Fields(Nonce(html), number, month, year, cvc));
    }

    private static Dictionary<string, string> Fields(string nonce, string number, string month = "12", string year = "2031", string cvc = "123") =>
        new() { ["nonce"] = nonce, ["number"] = number, ["exp_month"] = month, ["exp_year"] = year, ["cvc"] = cvc };

    private static async Task<(HttpStatusCode Status, string? Location, string Html)> DecideAsync(HttpClient browser, string url, string decision)
    {
        var (status, html) = await PageAsync(browser, url);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Confirm this payment with your bank", html, StringComparison.Ordinal);
        return await PostFormAsync(browser, Action(url, "confirm"), new Dictionary<string, string> { ["nonce"] = Nonce(html), ["decision"] = decision });
    }

    private static string Lines(JsonNode entry) =>
        string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));

    private static async Task<string[]> EntryLinesAsync(HttpClient c, string customer) =>
        [.. (await GetAsync(c, $"/v1/ledger/entries?customer_id={customer}&limit=100"))["data"]!.AsArray()
            .Select(e => $"{(string?)e!["source"]!["type"]}/{(string?)e["source"]!["action"]}: {Lines(e)}").Order(StringComparer.Ordinal)];

    private static async Task<string[]> EventTypesAsync(HttpClient c, string objectId) =>
        [.. (await GetAsync(c, $"/v1/events?object_id={objectId}"))["data"]!.AsArray().Select(e => (string)e!["type"]!)];

    private static async Task<JsonArray> PaymentsAsync(HttpClient c, string customer) => (await GetAsync(c, $"/v1/payments?customer_id={customer}&limit=100"))["data"]!.AsArray();

    private static string Success1(string id) => $"{Success}?session_id={id}";

    [Fact]
    public async Task Subscription_mode_pays_the_first_invoice_with_4242_activates_the_subscription_and_completes_once()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var before = host.Clock.GetUtcNow();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel });
        var id = (string)session["id"]!;
        var url = (string)session["url"]!;
        Assert.Matches("^cs_[0-9A-Z]{26}$", id);
        Assert.Matches($"^/checkout/{id}\\?token=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{{43}}$", url);
        Assert.Equal(("checkout_session", "open", "subscription", customer, product, 2000L, "usd", false),
            ((string?)session["object"], (string?)session["status"], (string?)session["mode"], (string?)session["customer_id"], (string?)session["product_id"],
                (long)session["amount_total"]!, (string?)session["currency"], (bool)session["livemode"]!));
        Assert.Equal((Success, Cancel), ((string?)session["success_url"], (string?)session["cancel_url"]));
        Assert.Null(session["payment_id"]);
        Assert.Null(session["completed_at"]);
        Assert.DoesNotContain("nonce", session.ToJsonString(), StringComparison.Ordinal);
        var expires = session["expires_at"]!.GetValue<DateTimeOffset>();
        Assert.InRange(expires - session["created_at"]!.GetValue<DateTimeOffset>(), TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1), TimeSpan.FromHours(24));
        Assert.True(expires >= before.AddHours(24) - TimeSpan.FromSeconds(1));
        var invoiceId = (string)session["invoice_id"]!;
        var subId = (string)session["subscription_id"]!;
        Assert.Equal(("incomplete", "open", 2000L), ((string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"], (string?)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["status"],
            (long)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["amount_due"]!));
        // Nothing is charged when the session is made.
        Assert.Empty(await PaymentsAsync(c, customer));

        var (status, html) = await PageAsync(browser, url);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h1 id=\"page-title\">Pay $20.00</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<p class=\"item\" id=\"item\">Pro plan</p>", html, StringComparison.Ordinal);
        Assert.Contains("<strong id=\"amount\">$20.00</strong> <span class=\"currency\">USD</span>", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"number\">Card number</label>", html, StringComparison.Ordinal);
        Assert.Contains("autocomplete=\"cc-number\"", html, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\" id=\"submit\">Pay $20.00</button>", html, StringComparison.Ordinal);
        Assert.Contains($"<a href=\"{Cancel}\" id=\"cancel-link\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);

        var paid = await PayAsync(browser, url, Visa);
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (paid.Status, paid.Location));

        var done = await GetAsync(c, $"/v1/checkout_sessions/{id}");
        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("complete", (string?)payment["id"]), ((string?)done["status"], (string?)done["payment_id"]));
        Assert.NotNull(done["completed_at"]);
        Assert.Equal(("succeeded", 2000L, invoiceId), ((string?)payment["status"], (long)payment["amount"]!, (string?)payment["invoice_id"]));
        var pm = (string)done["payment_method_id"]!;
        Assert.Equal(pm, (string?)payment["payment_method_id"]);
        Assert.Equal(pm, (string?)(await GetAsync(c, $"/v1/customers/{customer}"))["default_payment_method_id"]);
        Assert.Equal("active", (string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"]);
        var invoice = await GetAsync(c, $"/v1/invoices/{invoiceId}");
        Assert.Equal(("paid", 2000L, 0L), ((string?)invoice["status"], (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        Assert.Equal(["checkout.completed"], await EventTypesAsync(c, id));
        var completed = (await GetAsync(c, $"/v1/events?object_id={id}"))["data"]![0]!["data"]!["object"]!;
        Assert.Equal(("complete", (string?)payment["id"]), ((string?)completed["status"], (string?)completed["payment_id"]));
        var entries = await EntryLinesAsync(c, customer);
        Assert.Equal(2, entries.Length);
        Assert.Equal("payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000", entries[1]);
        Assert.Equal("invoice/finalized: 1200 DR 2000 CR 0; 4000 DR 0 CR 2000", entries[0]);

        // A second submit of the same form (double click, another tab) charges nothing: the session is complete.
        var again = await PostFormAsync(browser, Action(url, "pay"), Fields(Nonce(html), Visa));
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (again.Status, again.Location));
        Assert.Single(await PaymentsAsync(c, customer));
        Assert.Equal(2, (await EntryLinesAsync(c, customer)).Length);
        var (_, after) = await PageAsync(browser, url);
        Assert.Contains("<h1 id=\"page-title\">Payment complete</h1>", after, StringComparison.Ordinal);
        Assert.DoesNotContain("<form", after, StringComparison.Ordinal);
        Assert.Contains($"href=\"{Success1(id)}\"", after, StringComparison.Ordinal);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_refused_card_shows_a_message_a_person_understands_and_a_good_card_then_pays()
    {
        var (c, browser, customer, _) = await SetupAsync();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "payment", amount = 1999, currency = "usd", description = "Credit top-up",
            success_url = Success + "?from=checkout", cancel_url = Cancel });
        var id = (string)session["id"]!;
        var url = (string)session["url"]!;
        Assert.Equal(("payment", 1999L, "usd"), ((string?)session["mode"], (long)session["amount_total"]!, (string?)session["currency"]));
        Assert.Null(session["subscription_id"]);

        var declined = await PayAsync(browser, url, Declined);
        Assert.Equal(HttpStatusCode.PaymentRequired, declined.Status);
        Assert.Contains("<p id=\"form-error\">Your card was declined. Try another card.</p>", declined.Html, StringComparison.Ordinal);
        var poor = await PayAsync(browser, url, NoFunds);
        Assert.Equal(HttpStatusCode.PaymentRequired, poor.Status);
        Assert.Contains("<p id=\"form-error\">Your card has insufficient funds. Try another card.</p>", poor.Html, StringComparison.Ordinal);
        // A card refused when saved is not saved, and nothing was charged.
        Assert.Empty((await GetAsync(c, $"/v1/customers/{customer}/payment_methods"))["data"]!.AsArray());
        Assert.Empty(await PaymentsAsync(c, customer));

        // This card saves, but its charge is declined: the attempt is recorded failed and the page says so.
        var failed = await PayAsync(browser, url, ChargeFails);
        Assert.Equal((HttpStatusCode.SeeOther, url), (failed.Status, failed.Location));
        var (_, page) = await PageAsync(browser, url);
        Assert.Contains("<p id=\"form-error\">Your card was declined. Try another card.</p>", page, StringComparison.Ordinal);
        var first = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("failed", "card_declined"), ((string?)first["status"], (string?)first["failure_code"]));
        Assert.Equal("open", (string?)(await GetAsync(c, $"/v1/checkout_sessions/{id}"))["status"]);

        var paid = await PayAsync(browser, url, Visa);
        Assert.Equal((HttpStatusCode.SeeOther, $"{Success}?from=checkout&session_id={id}"), (paid.Status, paid.Location));
        var payments = await PaymentsAsync(c, customer);
        Assert.Equal(["succeeded", "failed"], payments.Select(p => (string)p!["status"]!).ToArray());
        var done = await GetAsync(c, $"/v1/checkout_sessions/{id}");
        Assert.Equal(("complete", (string?)payments[0]!["id"]), ((string?)done["status"], (string?)done["payment_id"]));
        var invoice = await GetAsync(c, $"/v1/invoices/{(string)session["invoice_id"]!}");
        Assert.Equal(("paid", 1999L, 0L), ((string?)invoice["status"], (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        Assert.Equal(["invoice/finalized: 1200 DR 1999 CR 0; 4000 DR 0 CR 1999", "payment/succeeded: 1000 DR 1999 CR 0; 1200 DR 0 CR 1999"],
            await EntryLinesAsync(c, customer));
        Assert.Equal(["checkout.completed"], await EventTypesAsync(c, id));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task The_3ds_card_asks_for_confirmation_before_the_charge_and_confirming_pays_with_the_same_charge()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel });
        var (id, url, subId) = ((string)session["id"]!, (string)session["url"]!, (string)session["subscription_id"]!);

        var asked = await PayAsync(browser, url, ThreeDSecure);
        Assert.Equal((HttpStatusCode.SeeOther, url), (asked.Status, asked.Location));
        var waiting = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal("requires_action", (string?)waiting["status"]);
        Assert.Equal(("incomplete", "open"), ((string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"], (string?)(await GetAsync(c, $"/v1/checkout_sessions/{id}"))["status"]));
        var (_, html) = await PageAsync(browser, url);
        Assert.Contains("the card ending in <strong>3155</strong>", html, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\" name=\"decision\" value=\"confirm\" id=\"confirm\">Confirm payment</button>", html, StringComparison.Ordinal);
        Assert.Contains("<summary>Use another card</summary>", html, StringComparison.Ordinal);
        Assert.Equal(["invoice/finalized"], (await EntryLinesAsync(c, customer)).Select(e => e[..e.IndexOf(':', StringComparison.Ordinal)]).ToArray());

        var confirmed = await DecideAsync(browser, url, "confirm");
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (confirmed.Status, confirmed.Location));
        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("succeeded", (string?)waiting["id"], (string?)waiting["provider_charge_id"]),
            ((string?)payment["status"], (string?)payment["id"], (string?)payment["provider_charge_id"]));
        Assert.Equal("active", (string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"]);
        Assert.Equal("complete", (string?)(await GetAsync(c, $"/v1/checkout_sessions/{id}"))["status"]);
        Assert.Equal("paid", (string?)(await GetAsync(c, $"/v1/invoices/{(string)session["invoice_id"]!}"))["status"]);
        Assert.Contains("payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000", await EntryLinesAsync(c, customer));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(c, (string)payment["id"]!));
        Assert.Equal(["checkout.completed"], await EventTypesAsync(c, id));

        // Confirming again (a second tab) does nothing more.
        var again = await PostFormAsync(browser, Action(url, "confirm"), new Dictionary<string, string> { ["nonce"] = Nonce(html), ["decision"] = "confirm" });
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (again.Status, again.Location));
        Assert.Single(await PaymentsAsync(c, customer));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Cancelling_the_3ds_step_fails_the_payment_keeps_the_invoice_open_and_the_page_offers_to_retry_or_use_another_card()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel });
        var (id, url, subId, invoiceId) = ((string)session["id"]!, (string)session["url"]!, (string)session["subscription_id"]!, (string)session["invoice_id"]!);

        Assert.Equal(HttpStatusCode.SeeOther, (await PayAsync(browser, url, ThreeDSecure)).Status);
        var cancelled = await DecideAsync(browser, url, "cancel");
        Assert.Equal((HttpStatusCode.SeeOther, url), (cancelled.Status, cancelled.Location));
        var failed = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("failed", "authentication_failed"), ((string?)failed["status"], (string?)failed["failure_code"]));
        Assert.Equal(["payment.failed"], await EventTypesAsync(c, (string)failed["id"]!));
        Assert.Equal(("open", 2000L), ((string?)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["status"], (long)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["amount_due"]!));
        Assert.Equal("incomplete", (string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"]);
        var (_, html) = await PageAsync(browser, url);
        Assert.Contains("The payment was not confirmed with your bank, so nothing was charged. Try again, or use another card.", html, StringComparison.Ordinal);
        Assert.Contains("Try again with the card ending in 3155</button>", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"number\">Card number</label>", html, StringComparison.Ordinal);

        // Try again with the same card: the bank asks again (a new attempt)…
        var retried = await PostFormAsync(browser, Action(url, "pay"), new Dictionary<string, string> { ["nonce"] = Nonce(html), ["use_saved_card"] = "1" });
        Assert.Equal((HttpStatusCode.SeeOther, url), (retried.Status, retried.Location));
        Assert.Equal(["requires_action", "failed"], (await PaymentsAsync(c, customer)).Select(p => (string)p!["status"]!).ToArray());
        // …and instead of confirming, the customer uses another card: paid with that one.
        var paid = await PayAsync(browser, url, Visa);
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (paid.Status, paid.Location));
        Assert.Equal(["succeeded", "requires_action", "failed"], (await PaymentsAsync(c, customer)).Select(p => (string)p!["status"]!).ToArray());
        Assert.Equal("active", (string?)(await GetAsync(c, $"/v1/subscriptions/{subId}"))["status"]);
        Assert.Equal(("paid", 2000L), ((string?)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["status"], (long)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["amount_paid"]!));
        // The 3-D Secure attempt that waited can no longer be confirmed.
        var late = await PostFormAsync(browser, Action(url, "confirm"), new Dictionary<string, string> { ["nonce"] = Nonce(html), ["decision"] = "confirm" });
        Assert.Equal((HttpStatusCode.SeeOther, Success1(id)), (late.Status, late.Location));
        Assert.Equal(1, (await PaymentsAsync(c, customer)).Count(p => (string?)p!["status"] == "succeeded"));
        Assert.Single(await EntryLinesAsync(c, customer), e => e.StartsWith("payment/", StringComparison.Ordinal));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Setup_mode_saves_the_card_as_the_default_and_a_trial_that_needs_a_card_starts_without_a_charge()
    {
        var (c, browser, customer, _) = await SetupAsync();
        var setup = await CreateAsync(c, new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel });
        Assert.Equal(("setup", 0L), ((string?)setup["mode"], (long)setup["amount_total"]!));
        Assert.Null(setup["currency"]);
        var (_, page) = await PageAsync(browser, (string)setup["url"]!);
        Assert.Contains("<button type=\"submit\" id=\"submit\">Save card</button>", page, StringComparison.Ordinal);
        var saved = await PayAsync(browser, (string)setup["url"]!, Visa);
        Assert.Equal((HttpStatusCode.SeeOther, Success1((string)setup["id"]!)), (saved.Status, saved.Location));
        var done = await GetAsync(c, $"/v1/checkout_sessions/{(string)setup["id"]!}");
        Assert.Equal("complete", (string?)done["status"]);
        Assert.Null(done["payment_id"]);
        Assert.Equal((string?)done["payment_method_id"], (string?)(await GetAsync(c, $"/v1/customers/{customer}"))["default_payment_method_id"]);
        Assert.Empty(await PaymentsAsync(c, customer));

        var trial = await SetupAsync(new { days = 14, card_required = true });
        var session = await CreateAsync(trial.Api, new { customer_id = trial.Customer, mode = "subscription", product_id = trial.Product, success_url = Success, cancel_url = Cancel });
        Assert.Equal(0L, (long)session["amount_total"]!);
        Assert.Null(session["invoice_id"]);
        var subId = (string)session["subscription_id"]!;
        Assert.Equal("incomplete", (string?)(await GetAsync(trial.Api, $"/v1/subscriptions/{subId}"))["status"]);
        var (_, html) = await PageAsync(trial.Browser, (string)session["url"]!);
        Assert.Contains("<h1 id=\"page-title\">Start your free trial</h1>", html, StringComparison.Ordinal);
        Assert.Contains("Nothing is charged today.", html, StringComparison.Ordinal);
        var started = await PayAsync(trial.Browser, (string)session["url"]!, Visa);
        Assert.Equal(HttpStatusCode.SeeOther, started.Status);
        Assert.Equal("trialing", (string?)(await GetAsync(trial.Api, $"/v1/subscriptions/{subId}"))["status"]);
        Assert.Empty(await PaymentsAsync(trial.Api, trial.Customer));
        Assert.Empty(await EntryLinesAsync(trial.Api, trial.Customer));
        Assert.Equal(["checkout.completed"], await EventTypesAsync(trial.Api, (string)session["id"]!));
        await LedgerSelfCheck.AssertHoldsAsync(trial.Api);
    }

    [Fact]
    public async Task Payment_mode_with_a_one_time_product_takes_the_purchase_path_and_grants_its_credits_when_paid()
    {
        var (c, browser, customer, product) = await SetupAsync(prices: [new { type = "one_time", amount = 1000, currency = "usd" }]);
        var session = await CreateAsync(c, new { customer_id = customer, mode = "payment", product_id = product, quantity = 2, success_url = Success, cancel_url = Cancel });
        Assert.Equal(("payment", 2000L), ((string?)session["mode"], (long)session["amount_total"]!));
        var purchase = (string)session["subscription_id"]!;
        Assert.Equal(HttpStatusCode.SeeOther, (await PayAsync(browser, (string)session["url"]!, Visa)).Status);
        var sub = await GetAsync(c, $"/v1/subscriptions/{purchase}");
        Assert.Equal(("expired", true), ((string?)sub["status"], (bool)sub["one_time"]!));
        Assert.Equal("paid", (string?)(await GetAsync(c, $"/v1/invoices/{(string)session["invoice_id"]!}"))["status"]);
        var grants = (await GetAsync(c, $"/v1/credit_grants?customer_id={customer}"))["data"]!.AsArray();
        Assert.Equal(200m, (decimal)Assert.Single(grants)!["amount"]!);
        // A recurring product is not bought in payment mode, nor a one-time one in subscription mode.
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "product_id");
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Subscribe_without_a_card_answers_a_checkout_url_bound_to_its_invoice_and_a_saved_3ds_card_leads_to_the_confirm_step()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, success_url = Success }, idempotencyKey: "sub-1");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("requires_checkout", (string?)r.Body!["status"]);
        var url = (string)r.Body["checkout_url"]!;
        Assert.Matches("^/checkout/cs_[0-9A-Z]{26}\\?token=", url);
        // The retry answers the same page; one session per invoice.
        Assert.Equal(url, (string?)(await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, success_url = Success }, idempotencyKey: "sub-1")).Body!["checkout_url"]);
        var sessions = (await GetAsync(c, $"/v1/checkout_sessions?customer_id={customer}"))["data"]!.AsArray();
        var session = Assert.Single(sessions)!;
        Assert.Equal(((string?)r.Body["invoice"]!["id"], (string?)r.Body["subscription"]!["id"], url, Success),
            ((string?)session["invoice_id"], (string?)session["subscription_id"], (string?)session["url"], (string?)session["success_url"]));
        Assert.Null(session["cancel_url"]);
        var paid = await PayAsync(browser, url, Visa);
        Assert.Equal((HttpStatusCode.SeeOther, Success1((string)session["id"]!)), (paid.Status, paid.Location));
        Assert.Equal("active", (string?)(await GetAsync(c, $"/v1/subscriptions/{(string)session["subscription_id"]!}"))["status"]);

        // A customer whose saved card needs 3-D Secure: subscribe answers requires_action with the page's confirm step.
        var other = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{other}", new { name = "Charles Babbage" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods", new { customer_id = other, card = new { number = ThreeDSecure, exp_month = 12, exp_year = 2031, cvc = "123" } })).Status);
        var action = await c.Post("/v1/subscribe", new { customer_id = other, product_id = product });
        Assert.Equal(("requires_action", "3ds_required"), ((string?)action.Body!["status"], (string?)action.Body["required_action"]!["code"]));
        var actionUrl = (string)action.Body["checkout_url"]!;
        Assert.StartsWith("/checkout/cs_", actionUrl, StringComparison.Ordinal);
        var confirmed = await DecideAsync(browser, actionUrl, "confirm");
        Assert.Equal(HttpStatusCode.SeeOther, confirmed.Status);
        var otherSession = Assert.Single((await GetAsync(c, $"/v1/checkout_sessions?customer_id={other}"))["data"]!.AsArray())!;
        // Without a success_url the customer lands back on the page, which now says the payment is complete.
        Assert.Equal((string?)otherSession["url"], confirmed.Location);
        Assert.Equal("complete", (string?)otherSession["status"]);
        Assert.Equal("active", (string?)(await GetAsync(c, $"/v1/subscriptions/{(string)action.Body["subscription"]!["id"]!}"))["status"]);
        var payment = Assert.Single(await PaymentsAsync(c, other))!;
        Assert.Equal("succeeded", (string?)payment["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task An_expired_session_expires_its_subscription_voids_its_invoice_with_a_reversing_entry_and_shows_no_form()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var session = await CreateAsync(c, new
        {
            customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel,
            expires_at = host.Clock.GetUtcNow().AddMinutes(31),
        });
        var (id, url, subId, invoiceId) = ((string)session["id"]!, (string)session["url"]!, (string)session["subscription_id"]!, (string)session["invoice_id"]!);
        var swept = await CreateAsync(c, new { customer_id = customer, mode = "payment", amount = 500, currency = "usd", success_url = Success, cancel_url = Cancel,
            expires_at = host.Clock.GetUtcNow().AddMinutes(31) });
        var (_, html) = await PageAsync(browser, url);
        host.Clock.Advance(TimeSpan.FromMinutes(32));

        // The sweep (what the worker runs) expires the other one; this one expires on its first read.
        Assert.True(await ExpireCheckoutSession.SweepAsync(host.Store, host.Clock.GetUtcNow(), CancellationToken.None) >= 1);
        Assert.Equal("expired", (string?)(await GetAsync(c, $"/v1/checkout_sessions/{(string)swept["id"]!}"))["status"]);
        Assert.Equal("void", (string?)(await GetAsync(c, $"/v1/invoices/{(string)swept["invoice_id"]!}"))["status"]);
        var expired = await GetAsync(c, $"/v1/checkout_sessions/{id}");
        Assert.Equal("expired", (string?)expired["status"]);
        Assert.Null(expired["completed_at"]);
        var sub = await GetAsync(c, $"/v1/subscriptions/{subId}");
        Assert.Equal(("expired", "incomplete_expired"), ((string?)sub["status"], (string?)sub["cancel_reason"]));
        Assert.Equal("void", (string?)(await GetAsync(c, $"/v1/invoices/{invoiceId}"))["status"]);
        Assert.Equal(["checkout.expired"], await EventTypesAsync(c, id));
        var entries = await EntryLinesAsync(c, customer);
        Assert.Equal(4, entries.Length);
        Assert.Equal(2, entries.Count(e => e.StartsWith("invoice/voided: ", StringComparison.Ordinal)));
        Assert.Contains("invoice/voided: 1200 DR 0 CR 500; 4000 DR 500 CR 0", entries);

        var (status, page) = await PageAsync(browser, url);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<h1 id=\"page-title\">This checkout has expired</h1>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<form", page, StringComparison.Ordinal);
        // A form opened before the expiry charges nothing after it.
        var late = await PostFormAsync(browser, Action(url, "pay"), Fields(Nonce(html), Visa));
        Assert.Equal((HttpStatusCode.SeeOther, url), (late.Status, late.Location));
        Assert.Empty(await PaymentsAsync(c, customer));
        Assert.Empty((await GetAsync(c, $"/v1/customers/{customer}/payment_methods"))["data"]!.AsArray());

        // Expiring by the API: once; again, or a complete session, is 409.
        var third = await CreateAsync(c, new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel });
        var ended = await c.Post($"/v1/checkout_sessions/{(string)third["id"]!}/expire");
        Assert.Equal((HttpStatusCode.OK, "expired"), (ended.Status, (string?)ended.Body!["status"]));
        (await c.Post($"/v1/checkout_sessions/{(string)third["id"]!}/expire")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        // An invoice voided through the API takes its session with it on the next read.
        var fourth = await CreateAsync(c, new { customer_id = customer, mode = "payment", amount = 700, currency = "usd", success_url = Success, cancel_url = Cancel });
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{(string)fourth["invoice_id"]!}/void")).Status);
        Assert.Equal("expired", (string?)(await GetAsync(c, $"/v1/checkout_sessions/{(string)fourth["id"]!}"))["status"]);
        Assert.Equal(["checkout.expired"], await EventTypesAsync(c, (string)fourth["id"]!));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Concurrent_submits_of_one_session_charge_once()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel });
        var url = (string)session["url"]!;
        var (_, html) = await PageAsync(browser, url);
        var nonce = Nonce(html);
        var other = host.Client(null);
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            PostFormAsync(i % 2 == 0 ? browser : other, Action(url, "pay"), Fields(nonce, Visa))));
        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.SeeOther or HttpStatusCode.Conflict, $"{a.Status}: {a.Html}"));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.SeeOther && a.Location == Success1((string)session["id"]!));
        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("succeeded", 2000L), ((string?)payment["status"], (long)payment["amount"]!));
        Assert.Single(await EntryLinesAsync(c, customer), e => e.StartsWith("payment/", StringComparison.Ordinal));
        Assert.Equal(["checkout.completed"], await EventTypesAsync(c, (string)session["id"]!));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Live_mode_has_no_card_form_of_kassas_own()
    {
        var live = host.Client((await host.NewAccountAsync()).LiveSecretKey);
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await live.Put($"/v1/customers/{customer}", new { name = "Ada" })).Status);
        (await live.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "test_mode_only");
        var product = Wire.NewId("pro");
        Assert.Equal(HttpStatusCode.Created, (await live.Post("/v1/products", new
        {
            id = product, name = "Pro plan", prices = new[] { new { type = "recurring", amount = 2000, currency = "usd", interval = "month", interval_count = 1 } },
        })).Status);
        var r = await live.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.Equal("requires_checkout", (string?)r.Body!["status"]);
        var url = (string)r.Body["checkout_url"]!;
        var browser = host.Client(null);
        var (status, html) = await PageAsync(browser, url);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Card payments on this page are not available in live mode yet.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<form", html, StringComparison.Ordinal);
        // A post anyway (the nonce is not even on the page) saves and charges nothing.
        var post = await PostFormAsync(browser, Action(url, "pay"), Fields(new string('0', 64), Visa));
        Assert.Equal(HttpStatusCode.Forbidden, post.Status);
        Assert.Empty((await live.Get($"/v1/payments?customer_id={customer}")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Hostile_input_answers_4xx_pages_and_errors_never_a_5xx()
    {
        var (c, browser, customer, product) = await SetupAsync();
        var session = await CreateAsync(c, new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel });
        var (id, url) = ((string)session["id"]!, (string)session["url"]!);
        var token = url[(url.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        var (_, html) = await PageAsync(browser, url);
        var nonce = Nonce(html);

        // Wrong or missing tokens, another session's token, an unknown session, an invoice page's token: the same 404 page.
        var other = await CreateAsync(c, new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel });
        var otherToken = ((string)other["url"]!)[(((string)other["url"]!).IndexOf("token=", StringComparison.Ordinal) + 6)..];
        foreach (var bad in new[] { $"/checkout/{id}", $"/checkout/{id}?token=", $"/checkout/{id}?token=abc", $"/checkout/{id}?token={otherToken}",
                     $"/checkout/cs_00000000000000000000000000?token={token}", $"/checkout/{id}?token={token}x", $"/checkout/{id}?token={new string('a', 400)}" })
        {
            var (status, page) = await PageAsync(browser, bad);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Contains("This checkout link is not valid.", page, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await PostFormAsync(browser, $"/checkout/{id}/pay?token={otherToken}", Fields(nonce, Visa))).Status);

        // A form without the page's nonce, or sent from another site, is refused; nothing is saved.
        foreach (var wrong in new[] { "", "0", new string('0', 64), new string('a', 500) })
        {
            var refused = await PostFormAsync(browser, Action(url, "pay"), Fields(wrong, Visa));
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
            Assert.Contains("The form was not sent from this checkout page.", refused.Html, StringComparison.Ordinal);
        }
        var crossOrigin = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, Visa), r => r.Headers.TryAddWithoutValidation("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, crossOrigin.Status);
        var crossSite = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, Visa), r => r.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site"));
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.Status);
        Assert.Empty((await GetAsync(c, $"/v1/customers/{customer}/payment_methods"))["data"]!.AsArray());

        // Bad card fields: 400, each error next to its field and in the summary at the top.
        var fields = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, "1234 5678", "13", "20x1", "12345"));
        Assert.Equal(HttpStatusCode.BadRequest, fields.Status);
        Assert.Contains("<h2 id=\"error-summary-title\">There is a problem</h2>", fields.Html, StringComparison.Ordinal);
        Assert.Contains("<li><a href=\"#number\">Card number must be 12 to 19 digits</a></li>", fields.Html, StringComparison.Ordinal);
        Assert.Contains("<li><a href=\"#exp_month\">Expiry month must be 1 to 12</a></li>", fields.Html, StringComparison.Ordinal);
        Assert.Contains("<li><a href=\"#exp_year\">Expiry year must be a number</a></li>", fields.Html, StringComparison.Ordinal);
        Assert.Contains("<li><a href=\"#cvc\">Security code must be 3 or 4 digits</a></li>", fields.Html, StringComparison.Ordinal);
        Assert.Contains("id=\"number\" name=\"number\"", fields.Html, StringComparison.Ordinal);
        Assert.Contains("aria-invalid=\"true\" aria-describedby=\"number-error\"", fields.Html, StringComparison.Ordinal);
        Assert.Contains("<p class=\"field-error\" id=\"cvc-error\">", fields.Html, StringComparison.Ordinal);
        Assert.Contains("value=\"13\"", fields.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("12345", fields.Html, StringComparison.Ordinal);
        var luhn = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, "4242424242424241"));
        Assert.Contains("Card number is not a valid card number (check digit)", luhn.Html, StringComparison.Ordinal);
        var expired = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, Visa, "1", "2020"));
        Assert.Equal(HttpStatusCode.BadRequest, expired.Status);
        Assert.Contains("<a href=\"#exp_year\">The card has expired</a>", expired.Html, StringComparison.Ordinal);
        var empty = await PostFormAsync(browser, Action(url, "pay"), new Dictionary<string, string> { ["nonce"] = nonce });
        Assert.Equal(HttpStatusCode.BadRequest, empty.Status);
        Assert.Contains("Card number is required", empty.Html, StringComparison.Ordinal);
        var html5 = await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, "<script>alert(1)</script>", "<b>", "\"'", "&amp;"));
        Assert.Equal(HttpStatusCode.BadRequest, html5.Status);
        Assert.DoesNotContain("<script>alert", html5.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html5.Html, StringComparison.Ordinal);

        // Not a form, a huge form, a confirm without a pending payment or with a bad decision.
        using (var json = new HttpRequestMessage(HttpMethod.Post, Action(url, "pay")) { Content = new StringContent("{\"nonce\":\"x\"}", System.Text.Encoding.UTF8, "application/json") })
            Assert.Equal(HttpStatusCode.BadRequest, (await browser.SendAsync(json)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFormAsync(browser, Action(url, "pay"), Fields(nonce, new string('4', 20_000)))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostFormAsync(browser, Action(url, "confirm"), new Dictionary<string, string> { ["nonce"] = nonce, ["decision"] = "maybe" })).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await PostFormAsync(browser, Action(url, "confirm"), new Dictionary<string, string> { ["nonce"] = nonce, ["decision"] = "confirm" })).Status);
        Assert.Empty((await GetAsync(c, $"/v1/customers/{customer}/payment_methods"))["data"]!.AsArray());

        // The API: missing and malformed fields, unknown ids.
        (await c.Post("/v1/checkout_sessions", new { mode = "setup", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "customer_id");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "success_url");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "rent", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "mode");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = "javascript:alert(1)", cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "success_url");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = "/relative" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "cancel_url");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel, expires_at = host.Clock.GetUtcNow().AddMinutes(10) }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "expires_at");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel, expires_at = host.Clock.GetUtcNow().AddHours(25) }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "expires_at");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", amount = 5, success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "payment", amount = 0, currency = "usd", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "payment", amount = 100, currency = "xxx", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "payment", amount = 100, success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "currency");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "subscription", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "product_id");
        (await c.Post("/v1/checkout_sessions", new { customer_id = "nobody", mode = "setup", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "subscription", product_id = "nothing", success_url = Success, cancel_url = Cancel })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "product_id");
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "setup", success_url = Success, cancel_url = Cancel, extra = 1 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field");
        (await c.Get("/v1/checkout_sessions/cs_nothing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Post("/v1/checkout_sessions/cs_nothing/expire")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/checkout_sessions?limit=0")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "limit");
        // A product with a customer already subscribed is refused without a second charge path.
        var first = await CreateAsync(c, new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel });
        (await c.Post("/v1/checkout_sessions", new { customer_id = customer, mode = "subscription", product_id = product, success_url = Success, cancel_url = Cancel }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal("open", (string?)first["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }
}

public sealed class CheckoutTestsSqlite(SqliteHost host) : CheckoutTests(host), IClassFixture<SqliteHost>;

public sealed class CheckoutTestsPostgres(PostgresHost host) : CheckoutTests(host), IClassFixture<PostgresHost>;
