using System.Net;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 13 item 4: disputes opened and moved by provider events (through the sandbox simulator, which
/// sends a signed event down the webhook pipeline, and by raw sandbox deliveries), with their exact
/// entries (opened DR 1300 / CR 1000; won DR 1000 / CR 1300; lost DR 4960 / CR 1300), events and the
/// rule that won and lost are final. Runs on both engines.
/// </summary>
public abstract class DisputeTests(KassaHost host)
{
    private static async Task<(string Customer, string Payment)> PaidAsync(HttpClient c, long amount)
    {
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods",
            new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2031, cvc = "123" } })).Status);
        var paid = await c.Post("/v1/payments", new { customer_id = customer, amount, currency = "usd", description = "Order" });
        Assert.Equal("succeeded", (string?)paid.Body!["status"]);
        return (customer, (string)paid.Body["id"]!);
    }

    private static async Task<long> BalanceAsync(HttpClient c, string code) =>
        (long)(await c.Get("/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z")).Body!["accounts"]!.AsArray()
            .Single(a => (string?)a!["code"] == code)!["balance"]!;

    [Fact]
    public async Task A_dispute_opened_then_won_returns_the_money_and_never_moves_back()
    {
        var sb = await ProviderWebhookTests.NewSandboxAsync(host);
        var c = sb.Client;
        var (customer, payment) = await PaidAsync(c, 2500);

        var opened = await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { reason = "product_not_received" });
        Assert.Equal(HttpStatusCode.OK, opened.Status);
        var d = opened.Body!;
        var id = (string)d["id"]!;
        Assert.Matches("^dp_[0-9A-Z]{26}$", id);
        Assert.Equal(("dispute", payment, customer, 2500L, "usd", "product_not_received", "needs_response", "sandbox"),
            ((string?)d["object"], (string?)d["payment_id"], (string?)d["customer_id"], (long)d["amount"]!, (string?)d["currency"], (string?)d["reason"],
                (string?)d["status"], (string?)d["provider"]));
        Assert.StartsWith("sbx_dp_", (string)d["provider_dispute_id"]!, StringComparison.Ordinal);
        Assert.Null(d["closed_at"]);
        Assert.Equal(id, (string?)(await c.Get($"/v1/payments/{payment}")).Body!["dispute_id"]);
        Assert.Equal(id, (string?)(await c.Get($"/v1/payments?customer_id={customer}")).Body!["data"]![0]!["dispute_id"]);
        // The provider took the money back while the dispute runs: cash 0, disputed funds 2500.
        Assert.Equal((0L, 2500L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "1300")));

        // Moving between open statuses posts nothing; the same status again is nothing at all.
        Assert.Equal("under_review", (string?)(await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "under_review" })).Body!["status"]);
        Assert.Equal("under_review", (string?)(await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "under_review" })).Body!["status"]);
        var won = (await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "won" })).Body!;
        Assert.Equal((id, "won"), ((string?)won["id"], (string?)won["status"]));
        Assert.NotNull(won["closed_at"]);
        // Final: a later "lost" (or any status) changes nothing.
        Assert.Equal("won", (string?)(await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "lost" })).Body!["status"]);
        Assert.Equal("won", (string?)(await c.Get($"/v1/disputes/{id}")).Body!["status"]);

        Assert.Equal(["dispute/opened: 1000 DR 0 CR 2500; 1300 DR 2500 CR 0", "dispute/won: 1000 DR 2500 CR 0; 1300 DR 0 CR 2500",
            "invoice/finalized: 1200 DR 2500 CR 0; 4000 DR 0 CR 2500", "payment/succeeded: 1000 DR 2500 CR 0; 1200 DR 0 CR 2500"],
            await ProviderWebhookTests.EntryLinesAsync(c, customer));
        Assert.Equal((2500L, 0L, 0L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "1300"), await BalanceAsync(c, "4960")));
        Assert.Equal(["dispute.won", "dispute.opened"], await ProviderWebhookTests.EventTypesAsync(c, id));
        var list = (await c.Get($"/v1/disputes?payment_id={payment}")).Body!;
        Assert.Equal([id], list["data"]!.AsArray().Select(x => (string)x!["id"]!).ToArray());
        Assert.Empty((await c.Get("/v1/disputes?payment_id=pay_none")).Body!["data"]!.AsArray());
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_dispute_opened_then_lost_is_contra_revenue_and_a_delivery_already_lost_opens_and_closes_at_once()
    {
        var sb = await ProviderWebhookTests.NewSandboxAsync(host);
        var c = sb.Client;
        var (customer, payment) = await PaidAsync(c, 3000);
        var id = (string)(await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { })).Body!["id"]!;
        var lost = (await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "lost" })).Body!;
        Assert.Equal((id, "lost", "fraudulent"), ((string?)lost["id"], (string?)lost["status"], (string?)lost["reason"]));
        Assert.Equal("lost", (string?)(await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "won" })).Body!["status"]);
        Assert.Equal(["dispute/lost: 1300 DR 0 CR 3000; 4960 DR 3000 CR 0", "dispute/opened: 1000 DR 0 CR 3000; 1300 DR 3000 CR 0",
            "invoice/finalized: 1200 DR 3000 CR 0; 4000 DR 0 CR 3000", "payment/succeeded: 1000 DR 3000 CR 0; 1200 DR 0 CR 3000"],
            await ProviderWebhookTests.EntryLinesAsync(c, customer));
        Assert.Equal((0L, 0L, 3000L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "1300"), await BalanceAsync(c, "4960")));
        Assert.Equal(["dispute.lost", "dispute.opened"], await ProviderWebhookTests.EventTypesAsync(c, id));

        // A provider that reports a dispute only once it is decided: opened and lost in one delivery, once.
        var (customer2, payment2) = await PaidAsync(c, 800);
        var charge = (string)(await c.Get($"/v1/payments/{payment2}")).Body!["provider_charge_id"]!;
        var body = ProviderWebhookTests.Body(ProviderWebhookTests.NewEventId(), "dispute.changed",
            new { provider_dispute_id = "sbx_dp_direct", provider_charge_id = charge, amount = 800, currency = "usd", reason = "duplicate", status = "lost" });
        for (var i = 0; i < 2; i++)
        {
            var r = await ProviderWebhookTests.DeliverRawAsync(host.Client(null), sb.Url, sb.Secret, body, host.Clock.GetUtcNow());
            Assert.Equal((HttpStatusCode.OK, i == 1), (r.Status, (bool)r.Body!["duplicate"]!));
        }
        var dispute = Assert.Single((await c.Get($"/v1/disputes?payment_id={payment2}")).Body!["data"]!.AsArray())!;
        Assert.Equal(("lost", "duplicate", "sbx_dp_direct"), ((string?)dispute["status"], (string?)dispute["reason"], (string?)dispute["provider_dispute_id"]));
        Assert.Equal(["dispute/lost: 1300 DR 0 CR 800; 4960 DR 800 CR 0", "dispute/opened: 1000 DR 0 CR 800; 1300 DR 800 CR 0",
            "invoice/finalized: 1200 DR 800 CR 0; 4000 DR 0 CR 800", "payment/succeeded: 1000 DR 800 CR 0; 1200 DR 0 CR 800"],
            await ProviderWebhookTests.EntryLinesAsync(c, customer2));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Events_of_one_dispute_delivered_at_once_on_two_nodes_open_it_once_and_close_it_once()
    {
        var sb = await ProviderWebhookTests.NewSandboxAsync(host);
        var c = sb.Client;
        var (customer, payment) = await PaidAsync(c, 1700);
        var charge = (string)(await c.Get($"/v1/payments/{payment}")).Body!["provider_charge_id"]!;
        var otherNode = await host.AnotherNodeClientAsync();
        otherNode.DefaultRequestHeaders.Authorization = null;
        var nodes = new[] { host.Client(null), otherNode };
        var now = host.Clock.GetUtcNow();
        string Event(string status) => ProviderWebhookTests.Body(ProviderWebhookTests.NewEventId(), "dispute.changed",
            new { provider_dispute_id = "sbx_dp_race", provider_charge_id = charge, amount = 1700, currency = "usd", reason = "fraudulent", status });

        // Six distinct events that each open the dispute, then six that each close it as lost: all at once.
        foreach (var status in new[] { "needs_response", "lost" })
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                ProviderWebhookTests.DeliverRawAsync(nodes[i % 2], sb.Url, sb.Secret, Event(status), now)));
            Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
            Assert.Equal(1, answers.Count(a => (string?)a.Body!["outcome"] == "applied"));
        }
        var dispute = Assert.Single((await c.Get($"/v1/disputes?payment_id={payment}")).Body!["data"]!.AsArray())!;
        Assert.Equal("lost", (string?)dispute["status"]);
        Assert.Equal(["dispute/lost: 1300 DR 0 CR 1700; 4960 DR 1700 CR 0", "dispute/opened: 1000 DR 0 CR 1700; 1300 DR 1700 CR 0",
            "invoice/finalized: 1200 DR 1700 CR 0; 4000 DR 0 CR 1700", "payment/succeeded: 1000 DR 1700 CR 0; 1200 DR 0 CR 1700"],
            await ProviderWebhookTests.EntryLinesAsync(c, customer));
        Assert.Equal(["dispute.lost", "dispute.opened"], await ProviderWebhookTests.EventTypesAsync(c, (string)dispute["id"]!));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task The_dispute_helper_and_reads_refuse_bad_input_with_4xx()
    {
        var sb = await ProviderWebhookTests.NewSandboxAsync(host);
        var c = sb.Client;
        var (customer, payment) = await PaidAsync(c, 500);
        (await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { status = "open" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "status");
        (await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { reason = new string('r', 101) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "reason");
        (await c.Post($"/v1/test_helpers/payments/{payment}/dispute", new { other = 1 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field");
        (await c.Send(HttpMethod.Post, $"/v1/test_helpers/payments/{payment}/dispute", rawBody: "{")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
        (await c.Post("/v1/test_helpers/payments/pay_nope/dispute", new { })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/disputes/dp_nope")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/disputes?limit=0")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "limit");
        (await c.Get($"/v1/disputes?payment_id={new string('p', 65)}")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "payment_id");
        // A payment that did not collect money cannot be disputed.
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods",
            new { customer_id = customer, card = new { number = "4000000000000341", exp_month = 12, exp_year = 2031, cvc = "123" } })).Status);
        var methods = (await c.Get($"/v1/customers/{customer}/payment_methods")).Body!["data"]!.AsArray();
        var failing = (string)methods.First(m => (string?)m!["card"]!["last4"] == "0341")!["id"]!;
        var failed = await c.Post("/v1/payments", new { customer_id = customer, amount = 300, currency = "usd", description = "Order", payment_method_id = failing });
        Assert.Equal("failed", (string?)failed.Body!["status"]);
        (await c.Post($"/v1/test_helpers/payments/{(string)failed.Body["id"]!}/dispute", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        var live = host.Client((await host.NewAccountAsync()).LiveSecretKey);
        (await live.Post($"/v1/test_helpers/payments/{payment}/dispute", new { })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "test_mode_only");
        Assert.Empty((await c.Get($"/v1/disputes?payment_id={payment}")).Body!["data"]!.AsArray());
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }
}

public sealed class DisputeTestsSqlite(SqliteHost host) : DisputeTests(host), IClassFixture<SqliteHost>;

public sealed class DisputeTestsPostgres(PostgresHost host) : DisputeTests(host), IClassFixture<PostgresHost>;
