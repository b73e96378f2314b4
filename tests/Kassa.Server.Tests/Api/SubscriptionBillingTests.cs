using System.Net;
using System.Text.Json.Nodes;
using Kassa.Core.Invoicing;
using Kassa.Engine.Payments;
using Kassa.Engine.Subscriptions;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §4 paid subscriptions on the sandbox provider: the first invoice charged at subscribe, renewals
/// with fees in advance and billed overage in arrears, dunning to recovery and to cancellation, cancel
/// at the period end and now with a credit, and two renewal runs racing. Each test has an account of
/// its own (invoice numbers start at KAS-000001) and ends with the ledger self-check. Renewals are run
/// the way the worker runs them, at the shifted clock's time. Runs on both engines.
/// </summary>
public abstract class SubscriptionBillingTests(KassaHost host)
{
    private const string GoodCard = "4242424242424242";
    private const string ChargeFailsCard = "4000000000000341";

    private sealed record Setup(HttpClient Client, string Customer, string Product, string Feature);

    private async Task<Setup> PaidPlanAsync(long amount = 2000, string? card = GoodCard, object? usagePrice = null, long included = 100)
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var feature = Wire.NewId("api");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "API calls", type = "metered" })).Status);
        var product = Wire.NewId("pro");
        var prices = new List<object> { new { type = "recurring", amount, currency = "usd", interval = "month", interval_count = 1 } };
        if (usagePrice is not null) prices.Add(usagePrice);
        var created = await c.Post("/v1/products", new
        {
            id = product, name = "Pro", prices,
            features = new object[] { new { feature_id = feature, included, reset = "month", overage = usagePrice is null ? "blocked" : "billed" } },
        });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada", email = "ada@example.com" })).Status);
        if (card is not null) await AttachCardAsync(c, customer, card);
        return new Setup(c, customer, product, feature);
    }

    private static async Task<string> AttachCardAsync(HttpClient c, string customer, string number)
    {
        var pm = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number, exp_month = 12, exp_year = 2040, cvc = "123" } });
        Assert.True(pm.Status is HttpStatusCode.OK or HttpStatusCode.Created, pm.Body?.ToJsonString());
        var id = (string)pm.Body!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/customers/{customer}/default_payment_method", new { payment_method_id = id })).Status);
        return id;
    }

    private Task<RunRenewals.Summary> RenewAsync() =>
        RunRenewals.RunAsync(host.Store, new PaymentProviders(new SandboxProvider()), host.Clock.GetUtcNow(), e => throw e, CancellationToken.None);

    private static async Task<JsonNode> GetAsync(HttpClient c, string path)
    {
        var r = await c.Get(path);
        Assert.True(r.Status == HttpStatusCode.OK, $"{path}: {r.Body?.ToJsonString()}");
        return r.Body!;
    }

    private static async Task<JsonArray> InvoicesAsync(HttpClient c, string customer) =>
        (await GetAsync(c, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray();

    private static long Balance(JsonNode tb, string code) =>
        (long?)tb["accounts"]!.AsArray().SingleOrDefault(a => (string?)a!["code"] == code)?["balance"] ?? 0;

    /// <summary>The ledger self-check: debits equal credits, and receivables equal the open invoices' amount due.</summary>
    private static async Task AssertLedgerHoldsAsync(HttpClient c)
    {
        var tb = await GetAsync(c, "/v1/ledger/trial_balance?currency=usd");
        Assert.Equal((long)tb["debits"]!, (long)tb["credits"]!);
        var open = (await GetAsync(c, "/v1/invoices?status=open&limit=100"))["data"]!.AsArray().Sum(i => (long)i!["amount_due"]!);
        Assert.Equal(open, Balance(tb, "1200"));
    }

    private static DateTimeOffset Time(JsonNode node, string field) => DateTimeOffset.Parse((string)node[field]!, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_paid_product_with_a_saved_card_is_invoiced_charged_and_active_at_once()
    {
        var p = await PaidPlanAsync();
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("active", (string?)r.Body!["status"]);
        var sub = r.Body["subscription"]!;
        Assert.Equal("active", (string?)sub["status"]);
        var invoice = r.Body["invoice"]!;
        Assert.Equal("KAS-000001", (string?)invoice["number"]);
        Assert.Equal("paid", (string?)invoice["status"]);
        Assert.Equal(2000, (long)invoice["total"]!);
        Assert.Equal(2000, (long)invoice["amount_paid"]!);
        Assert.Equal(0, (long)invoice["amount_due"]!);
        var line = invoice["lines"]!.AsArray().Single()!;
        Assert.Equal("recurring", (string?)line["type"]);
        Assert.Equal(2000, (long)line["amount"]!);
        Assert.Equal(Time(sub, "current_period_start"), Time(line, "period_start"));
        Assert.Equal(Time(sub, "current_period_end"), Time(line, "period_end"));
        // A month from the anchor, computed from the anchor.
        var start = Time(sub, "current_period_start");
        Assert.Equal(Kassa.Core.Periods.Periods.Boundary(start, Kassa.Core.Periods.Interval.Month, 1, 1), Time(sub, "current_period_end"));
        Assert.Null(r.Body["checkout_url"]);

        // The plan's balance is granted once the invoice is paid.
        var check = await p.Client.Post("/v1/check", new { customer_id = p.Customer, feature_id = p.Feature, required_balance = 1 });
        Assert.True((bool)check.Body!["allowed"]!);
        var tb = await GetAsync(p.Client, "/v1/ledger/trial_balance?currency=usd");
        Assert.Equal(2000, Balance(tb, "1000"));
        Assert.Equal(0, Balance(tb, "1200"));
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Without_a_card_the_subscription_is_incomplete_and_requires_checkout_and_grants_nothing()
    {
        var p = await PaidPlanAsync(card: null);
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("requires_checkout", (string?)r.Body!["status"]);
        Assert.Equal("incomplete", (string?)r.Body["subscription"]!["status"]);
        Assert.Equal("open", (string?)r.Body["invoice"]!["status"]);
        Assert.Equal(2000, (long)r.Body["invoice"]!["amount_due"]!);
        // The hosted checkout bound to this invoice (docs/checkout.md), not the invoice's read-only page.
        Assert.StartsWith("/checkout/cs_", (string)r.Body["checkout_url"]!, StringComparison.Ordinal);
        var check = await p.Client.Post("/v1/check", new { customer_id = p.Customer, feature_id = p.Feature, required_balance = 1 });
        Assert.False((bool)check.Body!["allowed"]!);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task An_incomplete_subscription_expires_after_23_hours_and_its_first_invoice_is_voided()
    {
        var p = await PaidPlanAsync(card: null);
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        var sub = (string)r.Body!["subscription"]!["id"]!;
        var invoice = (string)r.Body["invoice"]!["id"]!;
        host.Clock.Advance(TimeSpan.FromHours(22));
        await RenewAsync();
        Assert.Equal("incomplete", (string?)(await GetAsync(p.Client, $"/v1/subscriptions/{sub}"))["status"]);
        host.Clock.Advance(TimeSpan.FromHours(2));
        await RenewAsync();
        var expired = await GetAsync(p.Client, $"/v1/subscriptions/{sub}");
        Assert.Equal("expired", (string?)expired["status"]);
        Assert.Equal("incomplete_expired", (string?)expired["cancel_reason"]);
        Assert.Equal("void", (string?)(await GetAsync(p.Client, $"/v1/invoices/{invoice}"))["status"]);
        var tb = await GetAsync(p.Client, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(0, Balance(tb, "1200"));
        Assert.Equal(0, Balance(tb, "4000"));
        // The customer can subscribe again.
        Assert.Equal("requires_checkout", (string?)(await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).Body!["status"]);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task A_card_whose_charges_fail_leaves_the_subscription_incomplete_with_payment_failed()
    {
        var p = await PaidPlanAsync(card: ChargeFailsCard);
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("requires_action", (string?)r.Body!["status"]);
        Assert.Equal("payment_failed", (string?)r.Body["required_action"]!["code"]);
        Assert.Equal("incomplete", (string?)r.Body["subscription"]!["status"]);
        Assert.Equal("open", (string?)r.Body["invoice"]!["status"]);
        Assert.NotNull(r.Body["checkout_url"]);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task A_renewal_bills_the_next_period_in_advance_and_the_closed_periods_overage_in_arrears_once()
    {
        var usage = new { type = "usage", feature_id = "", currency = "usd", billing = "in_arrears", model = "per_unit", unit_amount_decimal = "0.5" };
        var p = await PaidPlanAsync(usagePrice: null);
        // The usage price names the feature, so the plan is made with its id.
        var c = p.Client;
        var product = Wire.NewId("metered");
        var created = await c.Post("/v1/products", new
        {
            id = product, name = "Metered",
            prices = new object[]
            {
                new { type = "recurring", amount = 1000, currency = "usd", interval = "month", interval_count = 1 },
                usage with { feature_id = p.Feature },
            },
            features = new object[] { new { feature_id = p.Feature, included = 100, reset = "month", overage = "billed" } },
        });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        var r = await c.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = product });
        Assert.Equal("active", (string?)r.Body!["status"]);
        var sub = r.Body["subscription"]!;
        var track = await c.Post("/v1/track", new { customer_id = p.Customer, feature_id = p.Feature, value = 151 });
        Assert.True(track.Status == HttpStatusCode.OK, track.Body?.ToJsonString());

        var end = Time(sub, "current_period_end");
        host.Clock.Advance(end - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var first = await RenewAsync();
        Assert.True(first.Renewed >= 1);
        var again = await RenewAsync();
        Assert.Equal(0, again.Invoices);

        var renewed = await GetAsync(c, $"/v1/subscriptions/{(string)sub["id"]!}");
        Assert.Equal("active", (string?)renewed["status"]);
        Assert.Equal(end, Time(renewed, "current_period_start"));
        Assert.Equal(Kassa.Core.Periods.Periods.Boundary(Time(sub, "current_period_start"), Kassa.Core.Periods.Interval.Month, 1, 2),
            Time(renewed, "current_period_end"));
        var invoices = await InvoicesAsync(c, p.Customer);
        Assert.Equal(2, invoices.Count);
        var cycle = invoices.Single(i => (string?)i!["number"] == "KAS-000002")!;
        Assert.Equal("paid", (string?)cycle["status"]);
        var lines = cycle["lines"]!.AsArray();
        Assert.Equal(2, lines.Count);
        var fee = lines.Single(l => (string?)l!["type"] == "recurring")!;
        Assert.Equal(1000, (long)fee["amount"]!);
        Assert.Equal(end, Time(fee, "period_start"));
        var overage = lines.Single(l => (string?)l!["type"] == "usage")!;
        // 151 used, 100 included: 51 units × 0.5 = 25.5 → 26 (half away from zero, once per line).
        Assert.Equal(51m, (decimal)overage["quantity"]!);
        Assert.Equal(26, (long)overage["amount"]!);
        Assert.Equal(p.Feature, (string?)overage["feature_id"]);
        Assert.Equal(1026, (long)cycle["total"]!);
        await AssertLedgerHoldsAsync(c);
    }

    [Fact]
    public async Task A_failed_renewal_charge_goes_past_due_and_a_retry_with_a_good_card_recovers()
    {
        var p = await PaidPlanAsync();
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        var sub = r.Body!["subscription"]!;
        await AttachCardAsync(p.Client, p.Customer, ChargeFailsCard);
        host.Clock.Advance(Time(sub, "current_period_end") - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RenewAsync();
        var pastDue = await GetAsync(p.Client, $"/v1/subscriptions/{(string)sub["id"]!}");
        Assert.Equal("past_due", (string?)pastDue["status"]);
        var open = (await InvoicesAsync(p.Client, p.Customer)).Single(i => (string?)i!["status"] == "open")!;
        Assert.Equal(2000, (long)open["amount_due"]!);
        await AssertLedgerHoldsAsync(p.Client);

        await AttachCardAsync(p.Client, p.Customer, GoodCard);
        host.Clock.Advance(TimeSpan.FromDays(1));
        await RenewAsync();
        var recovered = await GetAsync(p.Client, $"/v1/subscriptions/{(string)sub["id"]!}");
        Assert.Equal("active", (string?)recovered["status"]);
        Assert.Equal("paid", (string?)(await GetAsync(p.Client, $"/v1/invoices/{(string)open["id"]!}"))["status"]);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task A_renewal_with_no_card_left_counts_as_a_failed_attempt_and_goes_past_due()
    {
        var p = await PaidPlanAsync(card: null);
        var card = await AttachCardAsync(p.Client, p.Customer, GoodCard);
        var sub = (await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).Body!["subscription"]!;
        Assert.Equal(HttpStatusCode.OK, (await p.Client.Delete($"/v1/payment_methods/{card}")).Status);
        host.Clock.Advance(Time(sub, "current_period_end") - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RenewAsync();
        Assert.Equal("past_due", (string?)(await GetAsync(p.Client, $"/v1/subscriptions/{(string)sub["id"]!}"))["status"]);
        var open = (await InvoicesAsync(p.Client, p.Customer)).Single(i => (string?)i!["status"] == "open")!;
        Assert.Equal(2000, (long)open["amount_due"]!);
        // No payment was attempted: there was nothing to charge.
        var payments = (await GetAsync(p.Client, $"/v1/payments?customer_id={p.Customer}&limit=100"))["data"]!.AsArray();
        Assert.DoesNotContain(payments, x => (string?)x!["invoice_id"] == (string?)open["id"]);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Dunning_retries_on_days_1_3_5_and_7_then_cancels_with_payment_failed()
    {
        var p = await PaidPlanAsync();
        var r = await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product });
        var sub = r.Body!["subscription"]!;
        var subId = (string)sub["id"]!;
        await AttachCardAsync(p.Client, p.Customer, ChargeFailsCard);
        host.Clock.Advance(Time(sub, "current_period_end") - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RenewAsync();
        foreach (var (day, status) in new[] { (1, "past_due"), (3, "past_due"), (5, "past_due") })
        {
            host.Clock.Advance(TimeSpan.FromDays(day == 1 ? 1 : 2));
            await RenewAsync();
            Assert.Equal(status, (string?)(await GetAsync(p.Client, $"/v1/subscriptions/{subId}"))["status"]);
        }
        host.Clock.Advance(TimeSpan.FromDays(2));
        await RenewAsync();
        var canceled = await GetAsync(p.Client, $"/v1/subscriptions/{subId}");
        Assert.Equal("canceled", (string?)canceled["status"]);
        Assert.Equal("payment_failed", (string?)canceled["cancel_reason"]);
        var events = (await GetAsync(p.Client, $"/v1/events?object_id={subId}&limit=100"))["data"]!.AsArray().Select(e => (string?)e!["type"]).ToList();
        Assert.Contains("subscription.past_due", events);
        Assert.Contains("subscription.canceled", events);
        // Access ends with the subscription.
        var check = await p.Client.Post("/v1/check", new { customer_id = p.Customer, feature_id = p.Feature, required_balance = 1 });
        Assert.False((bool)check.Body!["allowed"]!);
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Cancel_at_period_end_ends_at_the_renewal_and_uncancel_undoes_it()
    {
        var p = await PaidPlanAsync();
        var sub = (await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).Body!["subscription"]!;
        var id = (string)sub["id"]!;
        var pending = await p.Client.Post($"/v1/subscriptions/{id}/cancel", new { at = "period_end" });
        Assert.True(pending.Status == HttpStatusCode.OK, pending.Body?.ToJsonString());
        Assert.True((bool)pending.Body!["cancel_at_period_end"]!);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.Post($"/v1/subscriptions/{id}/uncancel")).Status);
        (await p.Client.Post($"/v1/subscriptions/{id}/uncancel")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(HttpStatusCode.OK, (await p.Client.Post($"/v1/subscriptions/{id}/cancel", new { at = "period_end" })).Status);
        host.Clock.Advance(Time(sub, "current_period_end") - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        await RenewAsync();
        var ended = await GetAsync(p.Client, $"/v1/subscriptions/{id}");
        Assert.Equal("canceled", (string?)ended["status"]);
        // No renewal invoice: only the first one.
        Assert.Single(await InvoicesAsync(p.Client, p.Customer));
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Cancel_now_with_credit_returns_the_unused_time_prorated_by_the_second_as_customer_credit()
    {
        var p = await PaidPlanAsync(amount: 3000);
        var sub = (await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).Body!["subscription"]!;
        host.Clock.Advance(TimeSpan.FromDays(10));
        var canceled = await p.Client.Post($"/v1/subscriptions/{(string)sub["id"]!}/cancel", new { at = "now", refund = "credit" });
        Assert.True(canceled.Status == HttpStatusCode.OK, canceled.Body?.ToJsonString());
        Assert.Equal("canceled", (string?)canceled.Body!["status"]);
        var (start, end, at) = (Time(sub, "current_period_start"), Time(sub, "current_period_end"), Time(canceled.Body, "ended_at"));
        var expected = Proration.Prorate(3000, Proration.Fraction(start, end, at, end));
        var tb = await GetAsync(p.Client, "/v1/ledger/trial_balance?currency=usd");
        // Balances are shown on each account's normal side: the liability 2000 and the contra-revenue 4950 both hold the credit.
        Assert.Equal(expected, Balance(tb, "2000"));
        Assert.Equal(expected, Balance(tb, "4950"));
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Two_renewal_runs_racing_bill_each_period_once()
    {
        var p = await PaidPlanAsync();
        var subs = new List<JsonNode>();
        for (var i = 0; i < 5; i++)
        {
            var customer = Wire.NewId("cus");
            await p.Client.Put($"/v1/customers/{customer}", new { name = $"C{i}" });
            await AttachCardAsync(p.Client, customer, GoodCard);
            subs.Add((await p.Client.Post("/v1/subscribe", new { customer_id = customer, product_id = p.Product })).Body!["subscription"]!);
        }
        host.Clock.Advance(subs.Max(s => Time(s, "current_period_end")) - host.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var providers = new PaymentProviders(new SandboxProvider());
        var now = host.Clock.GetUtcNow();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => RunRenewals.RunAsync(host.Store, providers, now, null, CancellationToken.None))));
        foreach (var s in subs)
        {
            var invoices = await InvoicesAsync(p.Client, (string)s["customer_id"]!);
            Assert.Equal(2, invoices.Count);
            Assert.All(invoices, i => Assert.Equal("paid", (string?)i!["status"]));
        }
        await AssertLedgerHoldsAsync(p.Client);
    }

    [Fact]
    public async Task Hostile_lifecycle_input_is_refused_with_the_envelope()
    {
        var p = await PaidPlanAsync();
        var sub = (await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).Body!["subscription"]!;
        var id = (string)sub["id"]!;
        (await p.Client.Post($"/v1/subscriptions/{id}/cancel", new { at = "tomorrow" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "at");
        (await p.Client.Post($"/v1/subscriptions/{id}/cancel", new { at = "period_end", refund = "credit" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "refund");
        (await p.Client.Post($"/v1/subscriptions/{id}/cancel", new { at = "now", surprise = 1 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field");
        (await p.Client.Post("/v1/subscriptions/sub_missing/cancel", new { })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await p.Client.Get("/v1/subscriptions?status=sleeping")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "status");
        (await p.Client.Post($"/v1/subscriptions/{id}/resume")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await p.Client.Post("/v1/subscribe", new { customer_id = p.Customer, product_id = p.Product })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(HttpStatusCode.OK, (await p.Client.Post($"/v1/subscriptions/{id}/pause")).Status);
        (await p.Client.Post($"/v1/subscriptions/{id}/pause")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(HttpStatusCode.OK, (await p.Client.Post($"/v1/subscriptions/{id}/resume")).Status);
        var list = await GetAsync(p.Client, $"/v1/subscriptions?customer_id={p.Customer}");
        Assert.Equal(id, (string?)list["data"]!.AsArray().Single()!["id"]);
    }
}

public sealed class SubscriptionBillingTestsSqlite(SqliteHost host) : SubscriptionBillingTests(host), IClassFixture<SqliteHost>;

public sealed class SubscriptionBillingTestsPostgres(PostgresHost host) : SubscriptionBillingTests(host), IClassFixture<PostgresHost>;
