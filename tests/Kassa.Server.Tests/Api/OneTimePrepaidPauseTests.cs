using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Payments;
using Kassa.Engine.Subscriptions;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 12 item 2 on both engines: one-time products bought through subscribe (credit top-ups that
/// add up and never renew), prepaid usage quantities billed in advance, and pause that makes check
/// deny the paused subscription's features. Each test has an account of its own (invoice numbers
/// start at KAS-000001) and ends with the ledger self-check.
/// </summary>
public abstract class OneTimePrepaidPauseTests(KassaHost host)
{
    private const string GoodCard = "4242424242424242";
    private const string ChargeFailsCard = "4000000000000341";

    private static async Task<JsonNode> GetAsync(HttpClient c, string path)
    {
        var r = await c.Get(path);
        Assert.True(r.Status == HttpStatusCode.OK, $"{path}: {r.Body?.ToJsonString()}");
        return r.Body!;
    }

    private static long Account(JsonNode tb, string code) =>
        (long?)tb["accounts"]!.AsArray().SingleOrDefault(a => (string?)a!["code"] == code)?["balance"] ?? 0;

    private static async Task<string> CustomerAsync(HttpClient c, string? card)
    {
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada" })).Status);
        if (card is null) return customer;
        var pm = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = card, exp_month = 12, exp_year = 2040, cvc = "123" } });
        Assert.True(pm.Status is HttpStatusCode.OK or HttpStatusCode.Created, pm.Body?.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/customers/{customer}/default_payment_method", new { payment_method_id = (string)pm.Body!["id"]! })).Status);
        return customer;
    }

    private static async Task<string> FeatureAsync(HttpClient c, string type)
    {
        var id = Wire.NewId(type == "boolean" ? "flag" : "credits");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id, name = id, type })).Status);
        return id;
    }

    private static async Task<string> ProductAsync(HttpClient c, object[] prices, object[] features, string name = "Credits pack")
    {
        var id = Wire.NewId("prod");
        var created = await c.Post("/v1/products", new { id, name, prices, features });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        return id;
    }

    /// <summary>A 1,000-credit pack sold once for 1000 (10.00 USD).</summary>
    private static async Task<(string Product, string Feature)> CreditPackAsync(HttpClient c)
    {
        var feature = await FeatureAsync(c, "metered");
        var product = await ProductAsync(c, [new { type = "one_time", amount = 1000, currency = "usd" }],
            [new { feature_id = feature, included = 1000, reset = "never", overage = "blocked" }]);
        return (product, feature);
    }

    private static async Task<decimal?> RemainingAsync(HttpClient c, string customer, string feature)
    {
        var check = await c.Post("/v1/check", new { customer_id = customer, feature_id = feature, required_balance = 1 });
        Assert.Equal(HttpStatusCode.OK, check.Status);
        return (decimal?)check.Body!["balance"]?["remaining"];
    }

    private static void AssertOneTimeLine(JsonNode invoice, long quantity, long amount, string feature)
    {
        var line = Assert.Single(invoice["lines"]!.AsArray())!;
        Assert.Equal(("one_time", "Credits pack", (decimal)quantity, amount, feature),
            ((string?)line["type"], (string?)line["description"], (decimal)line["quantity"]!, (long)line["amount"]!, (string?)line["feature_id"]));
        Assert.Equal(amount, (long)invoice["total"]!);
    }

    [Fact]
    public async Task A_credit_pack_bought_twice_adds_up_as_a_top_up_and_never_renews()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await CreditPackAsync(c);
        var customer = await CustomerAsync(c, GoodCard);

        var first = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(first.Status == HttpStatusCode.OK, first.Body?.ToJsonString());
        Assert.Equal("active", (string?)first.Body!["status"]);
        var purchase = first.Body["subscription"]!;
        Assert.Equal(("expired", true, 1L), ((string?)purchase["status"], (bool)purchase["one_time"]!, (long)purchase["quantity"]!));
        Assert.Null(purchase["current_period_end"]);
        Assert.NotNull(purchase["ended_at"]);
        Assert.Equal(("KAS-000001", "paid", 1000L, 0L), ((string?)first.Body["invoice"]!["number"], (string?)first.Body["invoice"]!["status"],
            (long)first.Body["invoice"]!["amount_paid"]!, (long)first.Body["invoice"]!["amount_due"]!));
        AssertOneTimeLine(first.Body["invoice"]!, 1, 1000, feature);
        Assert.Equal(1000m, await RemainingAsync(c, customer, feature));

        // The same product again is another purchase, not a 409: quantity 2 adds 2,000 more.
        var second = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, quantity = 2 });
        Assert.True(second.Status == HttpStatusCode.OK, second.Body?.ToJsonString());
        Assert.Equal("active", (string?)second.Body!["status"]);
        Assert.NotEqual((string?)purchase["id"], (string?)second.Body["subscription"]!["id"]);
        Assert.Equal("KAS-000002", (string?)second.Body["invoice"]!["number"]);
        AssertOneTimeLine(second.Body["invoice"]!, 2, 2000, feature);
        Assert.Equal(3000m, await RemainingAsync(c, customer, feature));

        // Credits sold up front are owed to the customer until used: deferred revenue, not revenue.
        var tb = await GetAsync(c, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal((3000L, 3000L, 0L, 0L), (Account(tb, "1000"), Account(tb, "2100"), Account(tb, "4000"), Account(tb, "1200")));

        // Nothing renews or resets: a year later the renewal run bills nothing and the credits are all there.
        host.Clock.Advance(TimeSpan.FromDays(400));
        await RunRenewals.RunAsync(host.Store, new PaymentProviders(new SandboxProvider()), host.Clock.GetUtcNow(), e => throw e, CancellationToken.None);
        Assert.Equal(2, (await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray().Count);
        Assert.Equal(3000m, await RemainingAsync(c, customer, feature));
        var listed = (await GetAsync(c, $"/v1/subscriptions?customer_id={customer}"))["data"]!.AsArray();
        Assert.Equal(["expired", "expired"], listed.Select(s => (string?)s!["status"]));
        await LedgerSelfCheck.AssertHoldsAsync(c);

        // Credits used become usage revenue (DR 2100 / CR 4001) on the worker's next round, in proportion to
        // what each pack was sold for (1 a credit here); used up, all of it; a round with nothing new posts nothing.
        async Task UseAndRecognize(long credits)
        {
            var track = await c.Post("/v1/track", new { customer_id = customer, feature_id = feature, value = credits });
            Assert.True(track.Status == HttpStatusCode.OK, track.Body?.ToJsonString());
            await RunRenewals.RunAsync(host.Store, new PaymentProviders(new SandboxProvider()), host.Clock.GetUtcNow(), e => throw e, CancellationToken.None);
        }
        async Task<int> EntriesAsync() => (await GetAsync(c, "/v1/ledger/entries?limit=100"))["data"]!.AsArray().Count;
        await UseAndRecognize(1250);
        tb = await GetAsync(c, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal((1750L, 1250L), (Account(tb, "2100"), Account(tb, "4001")));
        var entries = await EntriesAsync();
        await RunRenewals.RunAsync(host.Store, new PaymentProviders(new SandboxProvider()), host.Clock.GetUtcNow(), e => throw e, CancellationToken.None);
        Assert.Equal(entries, await EntriesAsync());
        await UseAndRecognize(1750);
        tb = await GetAsync(c, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal((0L, 3000L, 3000L), (Account(tb, "2100"), Account(tb, "4001"), Account(tb, "1000")));
        Assert.Equal(0m, await RemainingAsync(c, customer, feature));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_purchase_retried_with_the_same_idempotency_key_is_bought_and_granted_once()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await CreditPackAsync(c);
        var customer = await CustomerAsync(c, GoodCard);
        var key = Wire.NewId("buy");
        var first = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product }, key);
        var again = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product }, key);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.Status, again.Status));
        Assert.Equal("true", again.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((string?)first.Body!["subscription"]!["id"], (string?)again.Body!["subscription"]!["id"]);
        Assert.Single((await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray());
        Assert.Equal(1000m, await RemainingAsync(c, customer, feature));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_declined_purchase_grants_nothing_and_requires_action()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await CreditPackAsync(c);
        var customer = await CustomerAsync(c, ChargeFailsCard);
        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal(("requires_action", "payment_failed"), ((string?)r.Body!["status"], (string?)r.Body["required_action"]!["code"]));
        Assert.Equal(("incomplete", true), ((string?)r.Body["subscription"]!["status"], (bool)r.Body["subscription"]!["one_time"]!));
        Assert.Equal(("open", 1000L), ((string?)r.Body["invoice"]!["status"], (long)r.Body["invoice"]!["amount_due"]!));
        var check = await c.Post("/v1/check", new { customer_id = customer, feature_id = feature, required_balance = 1 });
        Assert.Equal((false, "no_access"), ((bool)check.Body!["allowed"]!, (string?)check.Body["code"]));
        var tb = await GetAsync(c, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal((0L, 1000L, 1000L), (Account(tb, "1000"), Account(tb, "1200"), Account(tb, "2100")));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Without_a_card_a_purchase_requires_checkout_and_grants_once_the_invoice_is_paid()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await CreditPackAsync(c);
        var customer = await CustomerAsync(c, card: null);
        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, quantity = 3 });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("requires_checkout", (string?)r.Body!["status"]);
        // The hosted checkout bound to this invoice (docs/checkout.md), not the invoice's read-only page.
        Assert.StartsWith("/checkout/cs_", (string)r.Body["checkout_url"]!, StringComparison.Ordinal);
        AssertOneTimeLine(r.Body["invoice"]!, 3, 3000, feature);
        Assert.Null(await RemainingAsync(c, customer, feature));

        // The customer adds a card and pays the invoice: the credits arrive with the payment.
        var pm = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = GoodCard, exp_month = 12, exp_year = 2040, cvc = "123" } });
        var invoice = (string)r.Body["invoice"]!["id"]!;
        var paid = await c.Post($"/v1/invoices/{invoice}/pay", new { payment_method_id = (string)pm.Body!["id"]! });
        Assert.True(paid.Status == HttpStatusCode.OK, paid.Body?.ToJsonString());
        Assert.Equal("paid", (string?)paid.Body!["status"]);
        Assert.Equal(3000m, await RemainingAsync(c, customer, feature));
        var sub = await GetAsync(c, $"/v1/subscriptions/{(string)r.Body["subscription"]!["id"]!}");
        Assert.Equal(("expired", invoice), ((string?)sub["status"], (string?)sub["latest_invoice_id"]));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    /// <summary>Pro: 2000 a month, 100 API calls included, more bought up front at 2 per call (billing: prepaid).</summary>
    private static async Task<(string Product, string Feature)> PrepaidPlanAsync(HttpClient c)
    {
        var feature = await FeatureAsync(c, "metered");
        var product = await ProductAsync(c,
            [
                new { type = "recurring", amount = 2000, currency = "usd", interval = "month", interval_count = 1 },
                new { type = "usage", feature_id = feature, currency = "usd", billing = "prepaid", model = "per_unit", unit_amount_decimal = "2" },
            ],
            [new { feature_id = feature, included = 100, reset = "month", overage = "blocked" }], "Pro");
        return (product, feature);
    }

    private static JsonNode Line(JsonNode invoice, string type) => invoice["lines"]!.AsArray().Single(l => (string?)l!["type"] == type)!;

    [Fact]
    public async Task Prepaid_units_are_billed_in_advance_and_granted_more_is_prorated_now_fewer_applies_at_renewal()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await PrepaidPlanAsync(c);
        var customer = await CustomerAsync(c, GoodCard);

        // The preview bills exactly what subscribing will: the fee and 500 units at 2.
        var preview = await c.Post("/v1/subscribe/preview", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 500 } });
        Assert.True(preview.Status == HttpStatusCode.OK, preview.Body?.ToJsonString());
        Assert.Equal(3000L, (long)preview.Body!["total"]!);
        Assert.Equal([2000L, 1000L], preview.Body["line_items"]!.AsArray().Select(l => (long)l!["amount"]!));

        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 500 } });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("active", (string?)r.Body!["status"]);
        var sub = r.Body["subscription"]!;
        var subId = (string)sub["id"]!;
        Assert.Equal(500L, (long)sub["prepaid"]![feature]!);
        var first = r.Body["invoice"]!;
        Assert.Equal(("paid", 3000L), ((string?)first["status"], (long)first["total"]!));
        Assert.Equal(2, first["lines"]!.AsArray().Count);
        Assert.Equal(2000L, (long)Line(first, "recurring")["amount"]!);
        var prepaidLine = Line(first, "usage");
        Assert.Equal(($"Pro — {feature} prepaid", 500m, 1000L, feature), ((string?)prepaidLine["description"], (decimal)prepaidLine["quantity"]!,
            (long)prepaidLine["amount"]!, (string?)prepaidLine["feature_id"]));
        Assert.Equal((string?)sub["current_period_end"], (string?)prepaidLine["period_end"]);
        // included 100 + 500 bought.
        Assert.Equal(600m, await RemainingAsync(c, customer, feature));

        // The same product with the same prepaid quantity changes nothing: 409.
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 500 } }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        // 300 more: granted now and charged now for the rest of the period (1600 − 1000 for a whole period, all of it but seconds left).
        var more = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 800 } });
        Assert.True(more.Status == HttpStatusCode.OK, more.Body?.ToJsonString());
        Assert.Equal(800L, (long)more.Body!["subscription"]!["prepaid"]![feature]!);
        Assert.Equal(900m, await RemainingAsync(c, customer, feature));
        var invoices = (await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray();
        var update = invoices.Single(i => (string?)i!["number"] == "KAS-000002")!;
        Assert.Equal(("paid", 600L), ((string?)update["status"], (long)update["total"]!));
        var proration = Line(update, "proration");
        Assert.Equal((300m, 600L, feature), ((decimal)proration["quantity"]!, (long)proration["amount"]!, (string?)proration["feature_id"]));

        // Fewer: nothing now; the renewal bills and grants 200.
        var fewer = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 200 } });
        Assert.True(fewer.Status == HttpStatusCode.OK, fewer.Body?.ToJsonString());
        Assert.Equal(800L, (long)fewer.Body!["subscription"]!["prepaid"]![feature]!);
        Assert.Equal(900m, await RemainingAsync(c, customer, feature));
        Assert.Equal(2, (await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray().Count);

        // The upcoming invoice is what the renewal will bill: the lowered quantity.
        var upcoming = await GetAsync(c, $"/v1/invoices/upcoming?subscription_id={subId}");
        Assert.Equal((2400L, 200m, 400L), ((long)upcoming["total"]!, (decimal)Line(upcoming, "usage")["quantity"]!, (long)Line(upcoming, "usage")["amount"]!));
        // Quantity and prepaid are changed in separate requests.
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, quantity = 2, prepaid = new Dictionary<string, long> { [feature] = 900 } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "prepaid");

        var end = DateTimeOffset.Parse((string)sub["current_period_end"]!, System.Globalization.CultureInfo.InvariantCulture);
        host.Clock.Advance(end - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RunRenewals.RunAsync(host.Store, new PaymentProviders(new SandboxProvider()), host.Clock.GetUtcNow(), e => throw e, CancellationToken.None);
        var renewed = await GetAsync(c, $"/v1/subscriptions/{subId}");
        Assert.Equal(200L, (long)renewed["prepaid"]![feature]!);
        var cycle = (await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray().Single(i => (string?)i!["number"] == "KAS-000003")!;
        Assert.Equal(("paid", 2400L), ((string?)cycle["status"], (long)cycle["total"]!));
        Assert.Equal(2000L, (long)Line(cycle, "recurring")["amount"]!);
        Assert.Equal((200m, 400L), ((decimal)Line(cycle, "usage")["quantity"]!, (long)Line(cycle, "usage")["amount"]!));
        Assert.Equal(300m, await RemainingAsync(c, customer, feature));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Hostile_prepaid_input_is_refused_with_the_envelope()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var (product, feature) = await PrepaidPlanAsync(c);
        var (pack, _) = await CreditPackAsync(c);
        var customer = await CustomerAsync(c, GoodCard);
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = -1 } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", $"prepaid.{feature}");
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { [feature] = 1_000_000_001 } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", $"prepaid.{feature}");
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product, prepaid = new Dictionary<string, long> { ["nope"] = 1 } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "prepaid.nope");
        (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = pack, prepaid = new Dictionary<string, long> { [feature] = 1 } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", $"prepaid.{feature}");
        string Body(string prepaid) => "{\"customer_id\":\"" + customer + "\",\"product_id\":\"" + product + "\",\"prepaid\":" + prepaid + "}";
        foreach (var body in new[]
        {
            Body("{\"" + feature + "\":1.5}"),
            Body("{\"" + feature + "\":\"10\"}"),
            Body("{\"" + feature + "\":99999999999999999999999}"),
            Body("[1]"),
            Body("{\"" + new string('x', 5000) + "\":1}"),
        })
        {
            var r = await c.Send(HttpMethod.Post, "/v1/subscribe", rawBody: body);
            Assert.True((int)r.Status is >= 400 and < 500, body[..Math.Min(body.Length, 200)] + " → " + r.Body?.ToJsonString());
            Assert.NotNull(r.Body?["error"]?["code"]);
        }
        // None of it subscribed anything.
        Assert.Empty((await GetAsync(c, $"/v1/subscriptions?customer_id={customer}"))["data"]!.AsArray());
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Pause_makes_check_deny_the_subscriptions_features_and_resume_restores_them()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var flag = await FeatureAsync(c, "boolean");
        var metered = await FeatureAsync(c, "metered");
        var product = await ProductAsync(c, [], [new { feature_id = flag }, new { feature_id = metered, included = 10, reset = "month", overage = "blocked" }], "Team");
        var customer = await CustomerAsync(c, card: null);
        var r = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.Equal("active", (string?)r.Body!["status"]);
        var sub = (string)r.Body["subscription"]!["id"]!;

        async Task<(bool Allowed, string? Code)> CheckAsync(string feature, object? extra = null)
        {
            var body = new Dictionary<string, object?> { ["customer_id"] = customer, ["feature_id"] = feature, ["required_balance"] = 1 };
            if (extra is not null) foreach (var (k, v) in (Dictionary<string, object?>)extra) body[k] = v;
            var check = await c.Post("/v1/check", body);
            Assert.True(check.Status == HttpStatusCode.OK, check.Body?.ToJsonString());
            return ((bool)check.Body!["allowed"]!, (string?)check.Body["code"]);
        }

        Assert.Equal((true, null), await CheckAsync(flag));
        Assert.Equal((true, null), await CheckAsync(metered, new Dictionary<string, object?> { ["send_event"] = true }));
        Assert.Equal(9m, await RemainingAsync(c, customer, metered));

        var paused = await c.Post($"/v1/subscriptions/{sub}/pause", new { });
        Assert.True(paused.Status == HttpStatusCode.OK, paused.Body?.ToJsonString());
        Assert.True((bool)paused.Body!["paused"]!);
        Assert.Equal((false, "subscription_paused"), await CheckAsync(flag));
        Assert.Equal((false, "subscription_paused"), await CheckAsync(metered));
        // Neither a deduction nor a lock gets through, and nothing is taken.
        Assert.Equal((false, "subscription_paused"), await CheckAsync(metered, new Dictionary<string, object?> { ["send_event"] = true }));
        Assert.Equal((false, "subscription_paused"), await CheckAsync(metered, new Dictionary<string, object?> { ["lock"] = new { enabled = true } }));

        var resumed = await c.Post($"/v1/subscriptions/{sub}/resume", new { });
        Assert.True(resumed.Status == HttpStatusCode.OK, resumed.Body?.ToJsonString());
        Assert.False((bool)resumed.Body!["paused"]!);
        Assert.Equal((true, null), await CheckAsync(flag));
        Assert.Equal((true, null), await CheckAsync(metered));
        Assert.Equal(9m, await RemainingAsync(c, customer, metered));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }
}

public sealed class OneTimePrepaidPauseTestsSqlite(SqliteHost host) : OneTimePrepaidPauseTests(host), IClassFixture<SqliteHost>;

public sealed class OneTimePrepaidPauseTestsPostgres(PostgresHost host) : OneTimePrepaidPauseTests(host), IClassFixture<PostgresHost>;
