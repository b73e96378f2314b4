using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 12's scenarios on test clocks (spec §11): a customer's life — subscribe, renew across month
/// ends and a leap February, upgrade, downgrade, trial, usage at tier boundaries, coupons, tax, failed
/// payments — with the exact invoices, lines and ledger a careful accountant would write, and the
/// ledger self-check after every scenario. Each scenario has an account and a clock of its own; time
/// moves only by advancing the clock. Runs on both engines.
/// </summary>
public abstract class BillingScenarioTests(KassaHost host)
{
    private const string GoodCard = "4242424242424242";
    private const string ChargeFailsCard = "4000000000000341";

    private sealed class World(HttpClient c, string clock)
    {
        public HttpClient C { get; } = c;
        public string Clock { get; } = clock;
    }

    private async Task<World> WorldAsync(string frozen)
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var clock = await c.Post("/v1/test_clocks", new { name = "scenario", frozen_time = frozen });
        Assert.True(clock.Status == HttpStatusCode.Created, clock.Body?.ToJsonString());
        return new World(c, (string)clock.Body!["id"]!);
    }

    private static async Task<string> CustomerAsync(World w, string? card = GoodCard, object? address = null)
    {
        var id = Wire.NewId("cus");
        var created = await w.C.Post("/v1/customers", new { id, name = "Ada", test_clock_id = w.Clock, address });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        Assert.Equal(w.Clock, (string?)created.Body!["test_clock_id"]);
        if (card is not null)
        {
            var pm = await w.C.Post("/v1/payment_methods", new { customer_id = id, card = new { number = card, exp_month = 12, exp_year = 2040, cvc = "123" } });
            Assert.True(pm.Status is HttpStatusCode.OK or HttpStatusCode.Created, pm.Body?.ToJsonString());
        }
        return id;
    }

    private static async Task<string> FeatureAsync(World w)
    {
        var id = Wire.NewId("calls");
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/features", new { id, name = "Calls", type = "metered" })).Status);
        return id;
    }

    private static async Task<string> ProductAsync(World w, object body)
    {
        var r = await w.C.Post("/v1/products", body);
        Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
        return (string)r.Body!["id"]!;
    }

    private static object Monthly(long amount, string interval = "month") =>
        new { type = "recurring", amount, currency = "usd", interval, interval_count = 1 };

    private static async Task<JsonNode> SubscribeAsync(World w, string customer, string product, object? extra = null)
    {
        var body = new JsonObject { ["customer_id"] = customer, ["product_id"] = product };
        if (extra is not null)
            foreach (var (k, v) in JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject()) body[k] = v?.DeepClone();
        var r = await w.C.Post("/v1/subscribe", body);
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        return r.Body!;
    }

    private static async Task AdvanceAsync(World w, string to)
    {
        var r = await w.C.Post($"/v1/test_clocks/{w.Clock}/advance", new { to });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal(DateTimeOffset.Parse(to, CultureInfo.InvariantCulture), Time(r.Body!, "frozen_time"));
    }

    private static async Task<JsonNode> GetAsync(World w, string path)
    {
        var r = await w.C.Get(path);
        Assert.True(r.Status == HttpStatusCode.OK, $"{path}: {r.Body?.ToJsonString()}");
        return r.Body!;
    }

    /// <summary>The customer's invoices oldest first.</summary>
    private static async Task<List<JsonNode>> InvoicesAsync(World w, string customer) =>
        [.. (await GetAsync(w, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray().Select(i => i!).Reverse()];

    private static DateTimeOffset Time(JsonNode node, string field) => DateTimeOffset.Parse((string)node[field]!, CultureInfo.InvariantCulture);

    private static string Shape(JsonNode invoice) =>
        string.Join(" | ", invoice["lines"]!.AsArray().Select(l => $"{(string?)l!["type"]} {(string?)l["description"]} {(long)l["amount"]!}"));

    private static long Balance(JsonNode tb, string code) =>
        (long?)tb["accounts"]!.AsArray().SingleOrDefault(a => (string?)a!["code"] == code)?["balance"] ?? 0;

    /// <summary>Debits equal credits; receivables equal the open invoices' amount due.</summary>
    private static async Task AssertLedgerHoldsAsync(World w)
    {
        var tb = await GetAsync(w, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal((long)tb["debits"]!, (long)tb["credits"]!);
        var open = (await GetAsync(w, "/v1/invoices?status=open&limit=100"))["data"]!.AsArray().Sum(i => (long)i!["amount_due"]!);
        Assert.Equal(open, Balance(tb, "1200"));
    }

    [Fact]
    public async Task Monthly_from_january_31_renews_on_february_29_march_31_and_april_30_each_billed_once()
    {
        var w = await WorldAsync("2028-01-31T10:00:00Z");
        var customer = await CustomerAsync(w);
        var product = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", prices = new[] { Monthly(2000) } });
        var sub = (await SubscribeAsync(w, customer, product))["subscription"]!;
        Assert.Equal(DateTimeOffset.Parse("2028-01-31T10:00:00Z", CultureInfo.InvariantCulture), Time(sub, "current_period_start"));
        Assert.Equal(DateTimeOffset.Parse("2028-02-29T10:00:00Z", CultureInfo.InvariantCulture), Time(sub, "current_period_end"));

        await AdvanceAsync(w, "2028-05-15T00:00:00Z");
        var invoices = await InvoicesAsync(w, customer);
        Assert.Equal(["KAS-000001", "KAS-000002", "KAS-000003", "KAS-000004"], invoices.Select(i => (string)i["number"]!).ToArray());
        Assert.All(invoices, i => Assert.Equal("paid", (string?)i["status"]));
        Assert.All(invoices, i => Assert.Equal(2000, (long)i["total"]!));
        var starts = invoices.Select(i => ((string)i["lines"]![0]!["period_start"]!, (string)i["lines"]![0]!["period_end"]!)).ToArray();
        Assert.Equal(
        [
            ("2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z"), ("2028-02-29T10:00:00Z", "2028-03-31T10:00:00Z"),
            ("2028-03-31T10:00:00Z", "2028-04-30T10:00:00Z"), ("2028-04-30T10:00:00Z", "2028-05-31T10:00:00Z"),
        ], starts.Select(p => (Norm(p.Item1), Norm(p.Item2))).ToArray());
        // Each renewal is paid at the instant it fell due, in the clock's time.
        Assert.Equal(DateTimeOffset.Parse("2028-03-31T10:00:00Z", CultureInfo.InvariantCulture), Time(invoices[2], "paid_at"));
        var tb = await GetAsync(w, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(8000, Balance(tb, "1000"));
        await AssertLedgerHoldsAsync(w);
    }

    private static string Norm(string t) => DateTimeOffset.Parse(t, CultureInfo.InvariantCulture).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [Fact]
    public async Task An_upgrade_hands_the_metered_balance_to_the_new_plan_and_bought_credits_stay_under_a_plan_subscribed_later()
    {
        var w = await WorldAsync("2028-04-01T00:00:00Z");
        var feature = await FeatureAsync(w);
        var group = Wire.NewId("g");
        object Plan(string name, long fee, long included) => new
        {
            id = Wire.NewId(name.ToLowerInvariant()), name, group,
            prices = new object[]
            {
                Monthly(fee),
                new { type = "usage", feature_id = feature, currency = "usd", billing = "in_arrears", model = "per_unit", unit_amount_decimal = "1" },
            },
            features = new object[] { new { feature_id = feature, included, reset = "month", overage = "billed" } },
        };
        var pro = await ProductAsync(w, Plan("Pro", 3000, 1000));
        var enterprise = await ProductAsync(w, Plan("Enterprise", 5000, 5000));

        // Pro, 300 calls, then Enterprise half-way through April: the balance now belongs to Enterprise —
        // its allowance, its billed overage and a monthly reset from the upgrade — not the revoked plan's
        // blocked leftover.
        var customer = await CustomerAsync(w);
        await SubscribeAsync(w, customer, pro);
        Assert.Equal(HttpStatusCode.OK, (await w.C.Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 300 })).Status);
        await AdvanceAsync(w, "2028-04-16T00:00:00Z");
        Assert.Equal("active", (string?)(await SubscribeAsync(w, customer, enterprise))["status"]);
        var balance = await FeatureBalanceAsync(w, customer, feature);
        Assert.Equal("billed", (string?)balance["overage_policy"]);
        Assert.True((long)balance["remaining"]! == 5000, balance.ToJsonString());
        Assert.Equal("2028-05-16T00:00:00Z", Norm((string)balance["next_reset_at"]!));
        // Past the allowance is allowed and billed, as Enterprise says.
        var over = await w.C.Post("/v1/check", new { customer_id = customer, feature_id = feature, required_balance = 5001 });
        Assert.True((bool)over.Body!["allowed"]!, over.Body.ToJsonString());

        // Credits bought first, a plan subscribed after: the plan's monthly allowance and reset apply, the credits stay.
        var pack = await ProductAsync(w, new
        {
            id = Wire.NewId("pack"), name = "Credit pack",
            prices = new object[] { new { type = "one_time", amount = 1000, currency = "usd" } },
            features = new object[] { new { feature_id = feature, included = 2000 } },
        });
        var buyer = await CustomerAsync(w);
        Assert.Equal("active", (string?)(await SubscribeAsync(w, buyer, pack))["status"]);
        await SubscribeAsync(w, buyer, pro);
        balance = await FeatureBalanceAsync(w, buyer, feature);
        Assert.Equal(3000, (long)balance["remaining"]!);
        Assert.Equal("billed", (string?)balance["overage_policy"]);
        Assert.Equal("2028-05-16T00:00:00Z", Norm((string)balance["next_reset_at"]!));
        await AssertLedgerHoldsAsync(w);
    }

    private static async Task<JsonNode> FeatureBalanceAsync(World w, string customer, string feature)
    {
        var list = (await GetAsync(w, $"/v1/customers/{customer}/balances"))["data"]!.AsArray();
        return list.Single(b => (string?)b!["feature_id"] == feature)!;
    }

    [Fact]
    public async Task Annual_from_february_29_renews_on_february_28()
    {
        var w = await WorldAsync("2028-02-29T00:00:00Z");
        var customer = await CustomerAsync(w);
        var product = await ProductAsync(w, new { id = Wire.NewId("year"), name = "Yearly", prices = new[] { Monthly(24000, "year") } });
        var sub = (await SubscribeAsync(w, customer, product))["subscription"]!;
        Assert.Equal(DateTimeOffset.Parse("2029-02-28T00:00:00Z", CultureInfo.InvariantCulture), Time(sub, "current_period_end"));
        await AdvanceAsync(w, "2029-03-01T00:00:00Z");
        var invoices = await InvoicesAsync(w, customer);
        Assert.Equal(2, invoices.Count);
        Assert.Equal("2029-02-28T00:00:00Z", Norm((string)invoices[1]["lines"]![0]!["period_start"]!));
        Assert.Equal("2030-02-28T00:00:00Z", Norm((string)invoices[1]["lines"]![0]!["period_end"]!));
        await AssertLedgerHoldsAsync(w);
    }

    [Fact]
    public async Task Upgrading_half_way_through_april_charges_5000_minus_1500_and_a_downgrade_waits_for_the_period_end()
    {
        var w = await WorldAsync("2028-04-01T00:00:00Z");
        var customer = await CustomerAsync(w);
        var group = Wire.NewId("g");
        var pro = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", group, prices = new[] { Monthly(3000) } });
        var enterprise = await ProductAsync(w, new { id = Wire.NewId("ent"), name = "Enterprise", group, prices = new[] { Monthly(5000) } });
        var first = await SubscribeAsync(w, customer, pro);
        var proSub = (string)first["subscription"]!["id"]!;
        // April has 30 days: half-way is April 16, 00:00.
        await AdvanceAsync(w, "2028-04-16T00:00:00Z");
        var upgraded = await SubscribeAsync(w, customer, enterprise);
        Assert.Equal("active", (string?)upgraded["status"]);
        var invoice = upgraded["invoice"]!;
        Assert.Equal("recurring Enterprise 5000 | proration Unused time on Pro -1500", Shape(invoice));
        Assert.Equal(3500, (long)invoice["total"]!);
        Assert.Equal("paid", (string?)(await GetAsync(w, $"/v1/invoices/{(string)invoice["id"]!}"))["status"]);
        var old = await GetAsync(w, $"/v1/subscriptions/{proSub}");
        Assert.Equal("canceled", (string?)old["status"]);
        Assert.Equal("upgraded", (string?)old["cancel_reason"]);
        var entSub = upgraded["subscription"]!;
        Assert.Equal(DateTimeOffset.Parse("2028-05-16T00:00:00Z", CultureInfo.InvariantCulture), Time(entSub, "current_period_end"));

        // Back down to Pro: scheduled for the period end; Enterprise runs until then.
        var down = await SubscribeAsync(w, customer, pro);
        Assert.Equal("scheduled", (string?)down["status"]);
        Assert.Equal("scheduled", (string?)down["subscription"]!["status"]);
        Assert.Equal(Time(entSub, "current_period_end"), Time(down["subscription"]!, "current_period_start"));
        Assert.Null(down["invoice"]);
        await AdvanceAsync(w, "2028-05-20T00:00:00Z");
        var entAfter = await GetAsync(w, $"/v1/subscriptions/{(string)entSub["id"]!}");
        Assert.Equal("canceled", (string?)entAfter["status"]);
        Assert.Equal("downgraded", (string?)entAfter["cancel_reason"]);
        var proAgain = await GetAsync(w, $"/v1/subscriptions/{(string)down["subscription"]!["id"]!}");
        Assert.Equal("active", (string?)proAgain["status"]);
        var last = (await InvoicesAsync(w, customer)).Last();
        Assert.Equal("recurring Pro 3000", Shape(last));
        Assert.Equal("2028-05-16T00:00:00Z", Norm((string)last["lines"]![0]!["period_start"]!));
        Assert.Equal("paid", (string?)last["status"]);
        var tb = await GetAsync(w, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(3000 + 3500 + 3000, Balance(tb, "1000"));
        await AssertLedgerHoldsAsync(w);
    }

    [Fact]
    public async Task A_trial_becomes_paid_at_its_end_and_a_trial_without_a_card_is_canceled()
    {
        var w = await WorldAsync("2028-06-01T00:00:00Z");
        var product = await ProductAsync(w, new
        {
            id = Wire.NewId("trial"), name = "Trial plan", prices = new[] { Monthly(1500) }, free_trial = new { days = 14, card_required = false },
        });
        var withCard = await CustomerAsync(w);
        var withoutCard = await CustomerAsync(w, card: null);
        var a = await SubscribeAsync(w, withCard, product);
        Assert.Equal("trialing", (string?)a["status"]);
        Assert.Null(a["invoice"]);
        Assert.Equal(DateTimeOffset.Parse("2028-06-15T00:00:00Z", CultureInfo.InvariantCulture), Time(a["subscription"]!, "trial_end"));
        var b = await SubscribeAsync(w, withoutCard, product);
        Assert.Equal("trialing", (string?)b["status"]);

        await AdvanceAsync(w, "2028-06-16T00:00:00Z");
        var paid = await GetAsync(w, $"/v1/subscriptions/{(string)a["subscription"]!["id"]!}");
        Assert.Equal("active", (string?)paid["status"]);
        Assert.Equal(DateTimeOffset.Parse("2028-07-15T00:00:00Z", CultureInfo.InvariantCulture), Time(paid, "current_period_end"));
        var invoice = (await InvoicesAsync(w, withCard)).Single();
        Assert.Equal("recurring Trial plan 1500", Shape(invoice));
        Assert.Equal("paid", (string?)invoice["status"]);
        var canceled = await GetAsync(w, $"/v1/subscriptions/{(string)b["subscription"]!["id"]!}");
        Assert.Equal("canceled", (string?)canceled["status"]);
        Assert.Equal("trial_ended", (string?)canceled["cancel_reason"]);
        Assert.Empty(await InvoicesAsync(w, withoutCard));
        await AssertLedgerHoldsAsync(w);
    }

    /// <summary>100 units over the allowance is the last unit of the first tier; 101 is the first of the second.</summary>
    [Theory]
    [InlineData("graduated", 100)]
    [InlineData("graduated", 101)]
    [InlineData("volume", 100)]
    [InlineData("volume", 101)]
    public async Task Graduated_and_volume_overage_is_billed_exactly_at_tier_boundaries(string model, long over)
    {
        var w = await WorldAsync("2028-03-10T12:30:15Z");
        var customer = await CustomerAsync(w);
        var feature = await FeatureAsync(w);
        // Tiers over the overage units: the first 100 at 2 minor units each, the rest at 1 (graduated: each tier its
        // own rate; volume: the tier holding the total prices every unit), plus a flat 50 when the second tier is reached.
        var product = await ProductAsync(w, new
        {
            id = Wire.NewId("usage"), name = "Usage", prices = new object[]
            {
                Monthly(1000),
                new
                {
                    type = "usage", feature_id = feature, currency = "usd", billing = "in_arrears", model,
                    tiers = new object[] { new { up_to = (long?)100, unit_amount_decimal = "2" }, new { up_to = (long?)null, unit_amount_decimal = "1", flat_amount = 50 } },
                },
            },
            features = new object[] { new { feature_id = feature, included = 1000, reset = "month", overage = "billed" } },
        });
        await SubscribeAsync(w, customer, product);
        var track = await w.C.Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 1000 + over });
        Assert.True(track.Status == HttpStatusCode.OK, track.Body?.ToJsonString());
        await AdvanceAsync(w, "2028-04-11T00:00:00Z");
        var renewal = (await InvoicesAsync(w, customer)).Last();
        var usage = renewal["lines"]!.AsArray().Single(l => (string?)l!["type"] == "usage")!;
        Assert.Equal(over, (long)(decimal)usage["quantity"]!);
        var expected = (model, over) switch
        {
            ("graduated", 100) => 200,               // 100 × 2
            ("graduated", 101) => 200 + 1 + 50,      // 100 × 2 + 1 × 1 + flat 50
            ("volume", 100) => 200,                  // 100 × 2
            ("volume", 101) => 101 + 50,             // 101 × 1 + flat 50
            _ => throw new InvalidOperationException(),
        };
        Assert.Equal(expected, (long)usage["amount"]!);
        Assert.Equal(1000 + expected, (long)renewal["total"]!);
        // The usage line covers the closed period, which started mid-hour at the subscription's second.
        Assert.Equal("2028-03-10T12:30:15Z", Norm((string)usage["period_start"]!));
        Assert.Equal("2028-04-10T12:30:15Z", Norm((string)usage["period_end"]!));
        await AssertLedgerHoldsAsync(w);
    }

    [Fact]
    public async Task A_repeating_coupon_discounts_three_cycles_and_tax_is_added_or_included_by_address()
    {
        var w = await WorldAsync("2028-01-15T00:00:00Z");
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/tax_rates", new { name = "Sales tax", country = "US", state = "CA", percentage = 10, inclusive = false })).Status);
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/tax_rates", new { name = "VAT", country = "DE", percentage = 20, inclusive = true })).Status);
        var code = Wire.NewId("SAVE").ToUpperInvariant();
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/coupons", new { code, type = "percentage", value = 25, duration = "repeating", duration_in_cycles = 3 })).Status);
        var product = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", prices = new[] { Monthly(2000) } });
        var us = await CustomerAsync(w, address: new { country = "US", state = "CA" });
        var de = await CustomerAsync(w, address: new { country = "DE" });
        await SubscribeAsync(w, us, product, new { coupon = code });
        await SubscribeAsync(w, de, product);
        await AdvanceAsync(w, "2028-05-20T00:00:00Z");

        var usInvoices = await InvoicesAsync(w, us);
        Assert.Equal(5, usInvoices.Count);
        // 2000 − 25 % = 1500, + 10 % tax = 150 → 1650 for the first three cycles; then 2000 + 200 = 2200.
        Assert.Equal([500, 500, 500, 0, 0], usInvoices.Select(i => (long)i["discount"]!).ToArray());
        Assert.Equal([150, 150, 150, 200, 200], usInvoices.Select(i => (long)i["tax"]!).ToArray());
        Assert.Equal([1650, 1650, 1650, 2200, 2200], usInvoices.Select(i => (long)i["total"]!).ToArray());
        var deInvoices = await InvoicesAsync(w, de);
        // Inclusive 20 %: 2000 holds 2000 × 20 / 120 = 333.33 → 333 of tax; the total stays 2000.
        Assert.All(deInvoices, i => Assert.Equal(333, (long)i["tax"]!));
        Assert.All(deInvoices, i => Assert.Equal(2000, (long)i["total"]!));
        var tb = await GetAsync(w, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(3 * 150 + 2 * 200 + 5 * 333, Balance(tb, "2200"));
        await AssertLedgerHoldsAsync(w);
    }

    [Fact]
    public async Task A_failed_renewal_is_retried_on_days_1_3_5_7_then_canceled_and_another_customer_recovers()
    {
        var w = await WorldAsync("2028-08-01T00:00:00Z");
        var product = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", prices = new[] { Monthly(2000) } });
        var lost = await CustomerAsync(w);
        var saved = await CustomerAsync(w);
        var lostSub = (string)(await SubscribeAsync(w, lost, product))["subscription"]!["id"]!;
        var savedSub = (string)(await SubscribeAsync(w, saved, product))["subscription"]!["id"]!;
        foreach (var customer in new[] { lost, saved })
        {
            var pm = await w.C.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = ChargeFailsCard, exp_month = 12, exp_year = 2040, cvc = "123" } });
            await w.C.Post($"/v1/customers/{customer}/default_payment_method", new { payment_method_id = (string)pm.Body!["id"]! });
        }
        await AdvanceAsync(w, "2028-09-01T12:00:00Z");
        Assert.Equal("past_due", (string?)(await GetAsync(w, $"/v1/subscriptions/{lostSub}"))["status"]);
        Assert.Equal("past_due", (string?)(await GetAsync(w, $"/v1/subscriptions/{savedSub}"))["status"]);
        await AssertLedgerHoldsAsync(w);

        // The saved customer fixes the card before the day-1 retry.
        var good = await w.C.Post("/v1/payment_methods", new { customer_id = saved, card = new { number = GoodCard, exp_month = 12, exp_year = 2040, cvc = "123" } });
        await w.C.Post($"/v1/customers/{saved}/default_payment_method", new { payment_method_id = (string)good.Body!["id"]! });
        await AdvanceAsync(w, "2028-09-04T12:00:00Z");
        Assert.Equal("active", (string?)(await GetAsync(w, $"/v1/subscriptions/{savedSub}"))["status"]);
        var savedRenewal = (await InvoicesAsync(w, saved)).Last();
        Assert.Equal("paid", (string?)savedRenewal["status"]);
        Assert.Equal(DateTimeOffset.Parse("2028-09-02T00:00:00Z", CultureInfo.InvariantCulture), Time(savedRenewal, "paid_at"));

        await AdvanceAsync(w, "2028-09-08T12:00:00Z");
        var canceled = await GetAsync(w, $"/v1/subscriptions/{lostSub}");
        Assert.Equal("canceled", (string?)canceled["status"]);
        Assert.Equal("payment_failed", (string?)canceled["cancel_reason"]);
        Assert.Equal(DateTimeOffset.Parse("2028-09-08T00:00:00Z", CultureInfo.InvariantCulture), Time(canceled, "ended_at"));
        var unpaid = (await InvoicesAsync(w, lost)).Last();
        Assert.Equal("open", (string?)unpaid["status"]);
        Assert.Equal(2000, (long)unpaid["amount_due"]!);
        // Five attempts: the renewal's own, then days 1, 3, 5 and 7.
        var payments = (await GetAsync(w, $"/v1/payments?customer_id={lost}&limit=100"))["data"]!.AsArray();
        Assert.Equal(5, payments.Count(p => (string?)p!["invoice_id"] == (string?)unpaid["id"]));
        await AssertLedgerHoldsAsync(w);
    }

    [Fact]
    public async Task Test_clocks_refuse_bad_input_with_the_envelope()
    {
        var w = await WorldAsync("2028-01-01T00:00:00Z");
        (await w.C.Post("/v1/test_clocks", new { name = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "frozen_time");
        (await w.C.Post("/v1/test_clocks", new { frozen_time = "2028-01-01T00:00:00" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "frozen_time");
        (await w.C.Post($"/v1/test_clocks/{w.Clock}/advance", new { to = "2027-12-31T00:00:00Z" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
        (await w.C.Post($"/v1/test_clocks/{w.Clock}/advance", new { to = "2031-01-01T00:00:00Z" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
        (await w.C.Post("/v1/test_clocks/clock_missing/advance", new { to = "2029-01-01T00:00:00Z" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await w.C.Post("/v1/customers", new { name = "x", test_clock_id = "clock_missing" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "test_clock_id");
        Assert.Equal(HttpStatusCode.OK, (await w.C.Get($"/v1/test_clocks/{w.Clock}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await w.C.Delete($"/v1/test_clocks/{w.Clock}")).Status);
        (await w.C.Get($"/v1/test_clocks/{w.Clock}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }
}

public sealed class BillingScenarioTestsSqlite(SqliteHost host) : BillingScenarioTests(host), IClassFixture<SqliteHost>;

public sealed class BillingScenarioTestsPostgres(PostgresHost host) : BillingScenarioTests(host), IClassFixture<PostgresHost>;
