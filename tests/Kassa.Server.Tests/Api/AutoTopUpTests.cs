using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.TopUps;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 13 item 5, auto top-up (spec §5.5): below the threshold the worker buys the configured one-time
/// product with the default card through the ordinary purchase path — exactly once per 10 minutes however
/// many workers race, never in a loop after a failure, never on the check's path. Exact invoices,
/// payments, credits, events and ledger lines; the ledger self-check holds after each. Runs on both engines.
/// The worker round is driven by hand at chosen instants (the host runs no workers).
/// </summary>
public abstract class AutoTopUpTests(KassaHost host)
{
    private const string Visa = "4242424242424242";
    private const string ChargeFails = "4000000000000341";

    private static PaymentProviders Sandbox() => new(new SandboxProvider());

    private sealed record Setup(HttpClient C, string AccountId, string Customer, string Feature, string Product);

    /// <summary>
    /// An account with a 1,000-credit pack sold for 1000 (10.00 USD), a customer who bought one pack (invoice
    /// KAS-000001, remaining 1,000) with <paramref name="card"/> as default (or none), and an auto top-up of 2
    /// packs below 100 credits.
    /// </summary>
    private async Task<Setup> SetupAsync(string? card = Visa, string? clock = null)
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var feature = Wire.NewId("credits");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "Credits", type = "metered" })).Status);
        var product = Wire.NewId("pack");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Credits pack", prices = new[] { new { type = "one_time", amount = 1000, currency = "usd" } },
            features = new[] { new { feature_id = feature, included = 1000, reset = "never", overage = "blocked" } },
        })).Status);
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/customers", new { id = customer, name = "Ada", test_clock_id = clock })).Status);
        // The first pack is paid with a good card even when the default is to be another (or none) afterwards.
        var first = await AttachAsync(c, customer, Visa);
        var bought = await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(bought.Status == HttpStatusCode.OK && (string?)bought.Body!["status"] == "active", bought.Body?.ToJsonString());
        if (card != Visa)
        {
            Assert.Equal(HttpStatusCode.OK, (await c.Delete($"/v1/payment_methods/{first}")).Status);
            if (card is not null) await AttachAsync(c, customer, card);
        }
        var set = await c.Post($"/v1/customers/{customer}/auto_top_up", new { feature_id = feature, threshold = 100, quantity = 2, product_id = product });
        Assert.Equal(HttpStatusCode.OK, set.Status);
        Assert.Equal(("armed", null), ((string?)set.Body!["status"], (string?)set.Body["last_attempt_at"]));
        return new Setup(c, account.AccountId, customer, feature, product);
    }

    private static async Task<string> AttachAsync(HttpClient c, string customer, string number)
    {
        var attached = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number, exp_month = 12, exp_year = 2040, cvc = "123" } });
        Assert.Equal(HttpStatusCode.Created, attached.Status);
        return (string)attached.Body!["id"]!;
    }

    private static async Task<JsonNode> TrackAsync(Setup t, decimal value)
    {
        var r = await t.C.Post("/v1/track", new { customer_id = t.Customer, feature_id = t.Feature, value });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        return r.Body!;
    }

    private static async Task<decimal> RemainingAsync(Setup t) =>
        (decimal)(await t.C.Get($"/v1/customers/{t.Customer}/balances")).Body!["data"]!.AsArray().Single(b => (string?)b!["feature_id"] == t.Feature)!["remaining"]!;

    private static async Task<JsonArray> InvoicesAsync(Setup t) => (await t.C.Get($"/v1/invoices?customer_id={t.Customer}&limit=100")).Body!["data"]!.AsArray();

    private static async Task<JsonArray> PaymentsAsync(Setup t) => (await t.C.Get($"/v1/payments?customer_id={t.Customer}&limit=100")).Body!["data"]!.AsArray();

    private static async Task<JsonNode> TopUpAsync(Setup t)
    {
        var r = await t.C.Get($"/v1/customers/{t.Customer}/auto_top_up?feature_id={t.Feature}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body!;
    }

    /// <summary>The customer's auto top-up events, oldest first.</summary>
    private static async Task<JsonNode[]> TopUpEventsAsync(Setup t) =>
        [.. (await t.C.Get($"/v1/events?object_id={t.Customer}&limit=100")).Body!["data"]!.AsArray()
            .Where(e => ((string)e!["type"]!).StartsWith("auto_top_up.", StringComparison.Ordinal)).Reverse().Select(e => e!)];

    /// <summary>Timestamps are shown to the second (spec §2).</summary>
    private static DateTimeOffset Seconds(DateTimeOffset at) => DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());

    private static DateTimeOffset Time(JsonNode? value) => DateTimeOffset.Parse((string)value!, System.Globalization.CultureInfo.InvariantCulture);

    private static string Lines(JsonNode entry) =>
        string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));

    private static async Task<string[]> EntryLinesAsync(Setup t) =>
        [.. (await t.C.Get($"/v1/ledger/entries?customer_id={t.Customer}&limit=100")).Body!["data"]!.AsArray()
            .Select(e => $"{(string?)e!["source"]!["type"]}/{(string?)e["source"]!["action"]}: {Lines(e)}").Order(StringComparer.Ordinal)];

    private Task<RunAutoTopUps.Report> RoundAsync(DateTimeOffset at, IKassaStore? store = null) =>
        RunAutoTopUps.RunOnceAsync(store ?? host.Store, Sandbox(), at, null, CancellationToken.None);

    private static readonly string[] OnePack =
    [
        "invoice/finalized: 1200 DR 1000 CR 0; 2100 DR 0 CR 1000", "payment/succeeded: 1000 DR 1000 CR 0; 1200 DR 0 CR 1000",
    ];

    private static readonly string[] TwoPacks =
    [
        "invoice/finalized: 1200 DR 2000 CR 0; 2100 DR 0 CR 2000", "payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000",
    ];

    private static string[] Entries(params string[][] groups) => [.. groups.SelectMany(g => g).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Below_the_threshold_the_worker_buys_once_after_the_check_has_answered()
    {
        var t = await SetupAsync();
        Assert.Equal(1000m, await RemainingAsync(t));
        await TrackAsync(t, 950);

        // The check answers from the balance as it is: no purchase has happened, nothing waited for one.
        var check = await t.C.Post("/v1/check", new { customer_id = t.Customer, feature_id = t.Feature, required_balance = 1 });
        Assert.Equal(HttpStatusCode.OK, check.Status);
        Assert.Equal((true, 50m, 1000m), ((bool)check.Body!["allowed"]!, (decimal)check.Body["balance"]!["remaining"]!, (decimal)check.Body["balance"]!["granted"]!));
        Assert.Single(await InvoicesAsync(t));
        Assert.Empty(await TopUpEventsAsync(t));

        var at = host.Clock.GetUtcNow();
        await RoundAsync(at);
        Assert.Equal(2050m, await RemainingAsync(t));
        var invoices = await InvoicesAsync(t);
        Assert.Equal(2, invoices.Count);
        var invoice = invoices[0]!;
        Assert.Equal(("KAS-000002", "paid", 2000L, 2000L, 0L), ((string?)invoice["number"], (string?)invoice["status"], (long)invoice["total"]!,
            (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        var line = Assert.Single(invoice["lines"]!.AsArray())!;
        Assert.Equal(("one_time", "Credits pack", 2m, 2000L, t.Feature, t.Product), ((string?)line["type"], (string?)line["description"], (decimal)line["quantity"]!,
            (long)line["amount"]!, (string?)line["feature_id"], (string?)line["product_id"]));
        var payments = await PaymentsAsync(t);
        Assert.Equal(2, payments.Count);
        var payment = payments[0]!;
        Assert.Equal(("succeeded", 2000L, (string?)invoice["id"]), ((string?)payment["status"], (long)payment["amount"]!, (string?)payment["invoice_id"]));
        Assert.Equal(Entries(OnePack, TwoPacks), await EntryLinesAsync(t));

        var events = await TopUpEventsAsync(t);
        var succeeded = Assert.Single(events);
        Assert.Equal("auto_top_up.succeeded", (string?)succeeded["type"]);
        var data = succeeded["data"]!["object"]!;
        Assert.Equal(("auto_top_up", "armed", null, (string?)invoice["id"], (string?)payment["id"], t.Feature),
            ((string?)data["object"], (string?)data["status"], (string?)data["last_failure_code"], (string?)data["last_invoice_id"], (string?)data["last_payment_id"],
                (string?)data["feature_id"]));
        Assert.Equal(Seconds(at), Time(data["last_attempt_at"]));
        var state = await TopUpAsync(t);
        Assert.Equal(("armed", (string?)invoice["id"], (string?)payment["id"]), ((string?)state["status"], (string?)state["last_invoice_id"], (string?)state["last_payment_id"]));

        // Above the threshold again: later rounds buy nothing.
        await RoundAsync(at + TimeSpan.FromMinutes(30));
        Assert.Equal(2, (await InvoicesAsync(t)).Count);
        Assert.Single(await TopUpEventsAsync(t));
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task Within_ten_minutes_nothing_more_is_bought_even_below_again_and_after_ten_minutes_a_second_purchase_is()
    {
        var t = await SetupAsync();
        await TrackAsync(t, 950);
        var at = host.Clock.GetUtcNow();
        await RoundAsync(at);
        Assert.Equal(2050m, await RemainingAsync(t));
        await TrackAsync(t, 2000);
        Assert.Equal(50m, await RemainingAsync(t));

        await RoundAsync(at + TimeSpan.FromMinutes(5));
        await RoundAsync(at + TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(50m, await RemainingAsync(t));
        Assert.Equal(2, (await InvoicesAsync(t)).Count);

        // The purchase's credits are granted at its instant, so the host's clock moves there for the balance to show them.
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(new RunAutoTopUps.Report(1, 0, 0), await RoundAsync(host.Clock.GetUtcNow()));
        Assert.Equal(2050m, await RemainingAsync(t));
        var invoices = await InvoicesAsync(t);
        Assert.Equal(["KAS-000003", "KAS-000002", "KAS-000001"], invoices.Select(i => (string?)i!["number"]));
        Assert.Equal(["succeeded", "succeeded", "succeeded"], (await PaymentsAsync(t)).Select(p => (string?)p!["status"]));
        Assert.Equal(["auto_top_up.succeeded", "auto_top_up.succeeded"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        Assert.Equal(Entries(OnePack, TwoPacks, TwoPacks), await EntryLinesAsync(t));
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task Workers_of_two_nodes_racing_buy_once()
    {
        var t = await SetupAsync();
        await TrackAsync(t, 950);
        var at = host.Clock.GetUtcNow();
        // Two processes (each store its own pool and, on SQLite, its own write gate), three rounds each, all at once.
        await using var other = host.OpenAnotherStore();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => RoundAsync(at + TimeSpan.FromMilliseconds(i), i % 2 == 0 ? host.Store : other))));

        Assert.Equal(2050m, await RemainingAsync(t));
        Assert.Equal(2, (await InvoicesAsync(t)).Count);
        Assert.Equal(2, (await PaymentsAsync(t)).Count);
        Assert.Equal(["auto_top_up.succeeded"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        Assert.Equal(Entries(OnePack, TwoPacks), await EntryLinesAsync(t));
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task A_declined_default_card_fails_once_and_is_not_tried_again_until_a_new_default_card_re_arms_it()
    {
        var t = await SetupAsync(ChargeFails);
        await TrackAsync(t, 950);
        var at = host.Clock.GetUtcNow();
        await RoundAsync(at);

        var failed = Assert.Single(await TopUpEventsAsync(t));
        Assert.Equal("auto_top_up.failed", (string?)failed["type"]);
        Assert.Equal(("failed", "card_declined"), ((string?)failed["data"]!["object"]!["status"], (string?)failed["data"]!["object"]!["last_failure_code"]));
        var state = await TopUpAsync(t);
        Assert.Equal(("failed", "card_declined"), ((string?)state["status"], (string?)state["last_failure_code"]));
        var invoice = (await InvoicesAsync(t))[0]!;
        Assert.Equal(("KAS-000002", "open", 2000L), ((string?)invoice["number"], (string?)invoice["status"], (long)invoice["amount_due"]!));
        Assert.Equal((string?)invoice["id"], (string?)state["last_invoice_id"]);
        Assert.Equal(["failed", "succeeded"], (await PaymentsAsync(t)).Select(p => (string?)p!["status"]));
        Assert.Equal(50m, await RemainingAsync(t));

        // Disarmed: hours of rounds try nothing more.
        for (var minutes = 11; minutes <= 120; minutes += 11) await RoundAsync(at + TimeSpan.FromMinutes(minutes));
        Assert.Single(await TopUpEventsAsync(t));
        Assert.Equal(2, (await PaymentsAsync(t)).Count);
        Assert.Equal(2, (await InvoicesAsync(t)).Count);

        // A new default card re-arms it; the next round buys with it.
        var visa = await AttachAsync(t.C, t.Customer, Visa);
        Assert.Equal(HttpStatusCode.OK, (await t.C.Post($"/v1/customers/{t.Customer}/default_payment_method", new { payment_method_id = visa })).Status);
        Assert.Equal(("armed", "card_declined"), ((string?)(await TopUpAsync(t))["status"], (string?)(await TopUpAsync(t))["last_failure_code"]));
        host.Clock.Advance(TimeSpan.FromMinutes(130));
        await RoundAsync(host.Clock.GetUtcNow());
        Assert.Equal(2050m, await RemainingAsync(t));
        Assert.Equal(["auto_top_up.failed", "auto_top_up.succeeded"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        Assert.Equal(("armed", null), ((string?)(await TopUpAsync(t))["status"], (string?)(await TopUpAsync(t))["last_failure_code"]));
        // The failed attempt's invoice stays open (a customer can still pay it); the new attempt made its own.
        Assert.Equal(["paid", "open", "paid"], (await InvoicesAsync(t)).Reverse().Select(i => (string?)i!["status"]));
        Assert.Equal(Entries(OnePack, ["invoice/finalized: 1200 DR 2000 CR 0; 2100 DR 0 CR 2000"], TwoPacks), await EntryLinesAsync(t));
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task Without_a_default_card_the_attempt_fails_with_no_default_payment_method_and_setting_again_re_arms_it()
    {
        var t = await SetupAsync(card: null);
        await TrackAsync(t, 950);
        var at = host.Clock.GetUtcNow();
        await RoundAsync(at);
        var failed = Assert.Single(await TopUpEventsAsync(t));
        Assert.Equal(("auto_top_up.failed", "no_default_payment_method", null), ((string?)failed["type"],
            (string?)failed["data"]!["object"]!["last_failure_code"], (string?)failed["data"]!["object"]!["last_invoice_id"]));
        Assert.Single(await InvoicesAsync(t));
        await RoundAsync(at + TimeSpan.FromMinutes(20));
        Assert.Single(await TopUpEventsAsync(t));

        var set = await t.C.Post($"/v1/customers/{t.Customer}/auto_top_up", new { feature_id = t.Feature, threshold = 100, quantity = 2, product_id = t.Product });
        Assert.Equal(("armed", "no_default_payment_method"), ((string?)set.Body!["status"], (string?)set.Body["last_failure_code"]));
        Assert.Equal(Seconds(at), Time(set.Body["last_attempt_at"]));
        // Still no card: one more failure, then disarmed again.
        await RoundAsync(at + TimeSpan.FromMinutes(30));
        await RoundAsync(at + TimeSpan.FromMinutes(50));
        Assert.Equal(["auto_top_up.failed", "auto_top_up.failed"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        var disabled = await t.C.Post($"/v1/customers/{t.Customer}/auto_top_up", new { feature_id = t.Feature, threshold = 100, quantity = 2, product_id = t.Product, enabled = false });
        Assert.Equal("disabled", (string?)disabled.Body!["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task An_attempt_begun_before_a_crash_is_charged_once_by_reconcile_and_settled_by_the_next_round()
    {
        var t = await SetupAsync();
        await TrackAsync(t, 950);
        var at = host.Clock.GetUtcNow();
        var op = new OperationContext(new Tenant(t.AccountId, false), Actor.System, "req_test", at);
        // The claim and the purchase's payment attempt committed; the process died before it charged.
        var started = await host.Store.WriteAsync(s => StartAutoTopUp.Execute(s, op, t.Customer, t.Feature));
        Assert.Equal(StartAutoTopUp.Outcome.Charging, started.Outcome);
        Assert.Equal(AutoTopUpRules.RunKey(op.Tenant, t.Customer, t.Feature, AutoTopUpRules.WindowStart(at)), started.Run!.Id);
        Assert.Equal("processing", (string?)(await PaymentsAsync(t))[0]!["status"]);

        // A round (this node restarted, or another) neither buys again nor settles what is still in flight.
        await RoundAsync(at + TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await InvoicesAsync(t)).Count);
        Assert.Empty(await TopUpEventsAsync(t));
        // A retry, even in a later window, begins nothing while the attempt's payment is still in flight.
        var retried = await host.Store.WriteAsync(s => StartAutoTopUp.Execute(s, op.At(at + TimeSpan.FromMinutes(11)), t.Customer, t.Feature));
        Assert.Equal(StartAutoTopUp.Outcome.Nothing, retried.Outcome);
        await RoundAsync(at + TimeSpan.FromMinutes(11));
        Assert.Equal(2, (await PaymentsAsync(t)).Count);

        host.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await ReconcilePayments.RunOnceAsync(host.Store, Sandbox(), host.Clock.GetUtcNow(), CancellationToken.None)).Payments);
        Assert.Equal(2050m, await RemainingAsync(t));
        Assert.Empty(await TopUpEventsAsync(t));
        await RoundAsync(host.Clock.GetUtcNow());
        Assert.Equal(["auto_top_up.succeeded"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        Assert.Equal(2, (await PaymentsAsync(t)).Count);
        Assert.Equal(Entries(OnePack, TwoPacks), await EntryLinesAsync(t));
        await LedgerSelfCheck.AssertHoldsAsync(t.C);
    }

    [Fact]
    public async Task Test_clock_advance_buys_the_due_top_up_at_the_clock_time_and_the_real_time_worker_leaves_it_alone()
    {
        var frozen = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var clock = (string)(await c.Post("/v1/test_clocks", new { name = "top-up", frozen_time = frozen })).Body!["id"]!;
        var t = await SetupOnAccountAsync(c, account.AccountId, clock);
        await TrackAsync(t, 950);

        // The real-time worker does not touch a test clock's customers.
        await RoundAsync(host.Clock.GetUtcNow() + TimeSpan.FromDays(1));
        Assert.Single(await InvoicesAsync(t));

        var advanced = await c.Post($"/v1/test_clocks/{clock}/advance", new { to = frozen.AddHours(1) });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body?.ToJsonString());
        Assert.Equal(2050m, await RemainingAsync(t));
        var payment = (await PaymentsAsync(t))[0]!;
        Assert.Equal(("succeeded", 2000L), ((string?)payment["status"], (long)payment["amount"]!));
        Assert.Equal(frozen.AddHours(1), Time((await TopUpAsync(t))["last_attempt_at"]));

        // Below again: an advance of 5 minutes is within the window, one past it buys again.
        await TrackAsync(t, 2000);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/test_clocks/{clock}/advance", new { to = frozen.AddHours(1).AddMinutes(5) })).Status);
        Assert.Equal(50m, await RemainingAsync(t));
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/test_clocks/{clock}/advance", new { to = frozen.AddHours(1).AddMinutes(10) })).Status);
        Assert.Equal(2050m, await RemainingAsync(t));
        Assert.Equal(["auto_top_up.succeeded", "auto_top_up.succeeded"], (await TopUpEventsAsync(t)).Select(e => (string?)e["type"]));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    private static async Task<Setup> SetupOnAccountAsync(HttpClient c, string accountId, string clock)
    {
        var feature = Wire.NewId("credits");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "Credits", type = "metered" })).Status);
        var product = Wire.NewId("pack");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Credits pack", prices = new[] { new { type = "one_time", amount = 1000, currency = "usd" } },
            features = new[] { new { feature_id = feature, included = 1000, reset = "never", overage = "blocked" } },
        })).Status);
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/customers", new { id = customer, name = "Ada", test_clock_id = clock })).Status);
        await AttachAsync(c, customer, Visa);
        Assert.Equal(HttpStatusCode.OK, (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        Assert.Equal(HttpStatusCode.OK,
            (await c.Post($"/v1/customers/{customer}/auto_top_up", new { feature_id = feature, threshold = 100, quantity = 2, product_id = product })).Status);
        return new Setup(c, accountId, customer, feature, product);
    }

    [Fact]
    public async Task Reading_an_auto_top_up_with_hostile_input_answers_4xx_with_the_error_envelope()
    {
        var t = await SetupAsync();
        (await t.C.Get($"/v1/customers/{t.Customer}/auto_top_up")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "feature_id");
        (await t.C.Get($"/v1/customers/{t.Customer}/auto_top_up?feature_id=")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "feature_id");
        (await t.C.Get($"/v1/customers/{t.Customer}/auto_top_up?feature_id=nope")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "feature_id");
        (await t.C.Get($"/v1/customers/nobody/auto_top_up?feature_id={t.Feature}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        foreach (var hostile in new[] { "%00", "%E2%80%AE", "%27%20OR%201%3D1", new string('x', 5000), "%F0%9F%9A%80", "a%0Ab" })
        {
            var r = await t.C.Get($"/v1/customers/{t.Customer}/auto_top_up?feature_id={hostile}");
            Assert.True((int)r.Status is >= 400 and < 500, $"{hostile}: {(int)r.Status}");
            Assert.NotNull(r.Body!["error"]!["code"]);
            if (hostile == "%00") continue; // the test client itself refuses a NUL in the path
            var p = await t.C.Get($"/v1/customers/{hostile}/auto_top_up?feature_id={t.Feature}");
            Assert.True((int)p.Status is >= 400 and < 500, $"{hostile}: {(int)p.Status}");
        }
        Assert.Equal("armed", (string?)(await TopUpAsync(t))["status"]);
    }
}

public sealed class AutoTopUpTestsSqlite(SqliteHost host) : AutoTopUpTests(host), IClassFixture<SqliteHost>;

public sealed class AutoTopUpTestsPostgres(PostgresHost host) : AutoTopUpTests(host), IClassFixture<PostgresHost>;
