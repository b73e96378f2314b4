using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Stripe;

/// <summary>
/// Issue 13 item 3 (Stripe): Stripe's signed deliveries, in the shapes Stripe documents, POSTed to the
/// tenant's <c>webhook_url</c> and run through the one provider-webhook pipeline (signature, dedupe,
/// effect): 3-D Secure completed later, repeated and out-of-order deliveries, refunds made in Stripe's
/// dashboard, disputes won and lost, a card detached at Stripe, and refused deliveries. Exact rows,
/// events and ledger lines; both engines (the classes at the end of <see cref="StripeApiTests"/>).
/// </summary>
public abstract partial class StripeApiTests
{
    private static async Task<string[]> EventTypesAsync(HttpClient c, string objectId) =>
        [.. (await c.Get($"/v1/events?object_id={objectId}&limit=100")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!)];

    private static async Task<JsonNode> PaymentOfAsync(HttpClient c, string customer) =>
        Assert.Single((await c.Get($"/v1/payments?customer_id={customer}&limit=10")).Body!["data"]!.AsArray())!;

    [Fact]
    public async Task A_3ds_payment_completed_later_is_paid_once_however_often_and_in_whatever_order_stripe_delivers()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        await SaveStripeCardAsync(a, customer, "pm_card_authenticationRequired");
        var invoice = await OpenInvoiceAsync(c, customer, 4200);
        (await c.Post($"/v1/invoices/{invoice}/pay", new { })).AssertError(HttpStatusCode.PaymentRequired, "payment_error", "requires_action", "payment_method_id");
        var payment = await PaymentOfAsync(c, customer);
        var paymentId = (string)payment["id"]!;
        var intentId = (string)payment["provider_charge_id"]!;
        Assert.Equal("requires_action", (string?)payment["status"]);
        Assert.StartsWith("pi_", intentId, StringComparison.Ordinal);

        // The customer authenticates on Stripe's page later: Stripe sends payment_intent.succeeded.
        var succeeded = Event("payment_intent.succeeded", Fake.CompleteAuthentication(intentId));
        AssertReceipt(await DeliverAsync(a, succeeded), duplicate: false, "applied");
        var paid = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("succeeded", intentId, 4200L, null), ((string?)paid["status"], (string?)paid["provider_charge_id"], (long)paid["amount"]!, (string?)paid["failure_code"]));
        var inv = (await c.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("paid", 4200L, 0L), ((string?)inv["status"], (long)inv["amount_paid"]!, (long)inv["amount_due"]!));

        // Stripe delivers at least once: the same event again is a duplicate; a failure arriving after the success changes nothing.
        AssertReceipt(await DeliverAsync(a, succeeded), duplicate: true, "applied");
        var failed = Fake.Get(intentId)!;
        failed["status"] = "requires_payment_method";
        failed["last_payment_error"] = new JsonObject
        {
            ["type"] = "card_error", ["code"] = "authentication_required", ["decline_code"] = "authentication_required",
            ["message"] = "Your card was declined. This transaction requires authentication.",
        };
        var failure = Event("payment_intent.payment_failed", failed);
        AssertReceipt(await DeliverAsync(a, failure), duplicate: false, "ignored_already_settled");
        AssertReceipt(await DeliverAsync(a, failure), duplicate: true, "ignored_already_settled");

        Assert.Equal("succeeded", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 4200 CR 0; 4000 DR 0 CR 4200", "payment/succeeded: 1000 DR 4200 CR 0; 1200 DR 0 CR 4200"],
            await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(c, paymentId));
        Assert.Equal(1, Fake.PaymentIntentsByKey[paymentId]);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Refunds_made_in_the_stripe_dashboard_become_one_refund_each_with_its_entry()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        await SaveStripeCardAsync(a, customer, "pm_card_visa");
        var pay = await c.Post("/v1/payments", new { customer_id = customer, amount = 2500, currency = "usd", description = "Credits" });
        Assert.Equal((HttpStatusCode.Created, "succeeded"), (pay.Status, (string?)pay.Body!["status"]));
        var paymentId = (string)pay.Body["id"]!;
        var intentId = (string)pay.Body["provider_charge_id"]!;

        // charge.refunded of today's API version names no refund (refunds is expandable only): Kassa lists the charge's refunds at Stripe.
        var (refund, charge) = Fake.RefundInDashboard(intentId, 900);
        Assert.Null(charge["refunds"]);
        var refunded = Event("charge.refunded", charge, previous: new JsonObject { ["amount_refunded"] = 0, ["refunded"] = false });
        AssertReceipt(await DeliverAsync(a, refunded), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(a, refunded), duplicate: true, "applied");
        // Stripe also sends refund.created for the same refund: recorded already.
        AssertReceipt(await DeliverAsync(a, Event("refund.created", refund)), duplicate: false, "ignored_already_recorded");
        var after = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("partially_refunded", 900L), ((string?)after["status"], (long)after["amount_refunded"]!));
        var first = await host.Store.ReadAsync(s => s.ProviderEvents.RefundIdByProviderRefundAsync(a.Tenant, (string)refund["id"]!));
        Assert.NotNull(first);

        // Two more refunds, whose deliveries arrive in the reverse order: each is recorded once.
        var (second, _) = Fake.RefundInDashboard(intentId, 300);
        var (third, lastCharge) = Fake.RefundInDashboard(intentId, 1300);
        Assert.Equal((2500L, true), ((long)lastCharge["amount_refunded"]!, (bool)lastCharge["refunded"]!));
        AssertReceipt(await DeliverAsync(a, Event("charge.refunded", lastCharge)), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(a, Event("charge.refunded", lastCharge)), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(a, Event("charge.refunded", lastCharge)), duplicate: false, "ignored_already_recorded");
        foreach (var r in new[] { second, third })
            Assert.NotNull(await host.Store.ReadAsync(s => s.ProviderEvents.RefundIdByProviderRefundAsync(a.Tenant, (string)r["id"]!)));

        var done = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("refunded", 2500L), ((string?)done["status"], (long)done["amount_refunded"]!));
        Assert.Equal([
            "invoice/finalized: 1200 DR 2500 CR 0; 4000 DR 0 CR 2500", "payment/succeeded: 1000 DR 2500 CR 0; 1200 DR 0 CR 2500",
            "refund/succeeded: 1000 DR 0 CR 1300; 4950 DR 1300 CR 0", "refund/succeeded: 1000 DR 0 CR 300; 4950 DR 300 CR 0",
            "refund/succeeded: 1000 DR 0 CR 900; 4950 DR 900 CR 0",
        ], await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(["payment.refunded", "payment.refunded", "payment.refunded", "payment.succeeded"], await EventTypesAsync(c, paymentId));
        // Kassa asked Stripe for the charge's refunds, bounded, by the charge's id.
        Assert.All(Fake.Requests.Where(r => r.Method == "GET" && r.Path == "/v1/refunds"),
            r => Assert.Equal(((string?)charge["id"], "100"), (r.Form["charge"], r.Form["limit"])));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    private static JsonObject Dispute(string id, JsonNode payment, string charge, string status) => new()
    {
        ["id"] = id, ["object"] = "dispute", ["amount"] = (long)payment["amount"]!, ["currency"] = "usd", ["charge"] = charge,
        ["payment_intent"] = (string)payment["provider_charge_id"]!, ["reason"] = "fraudulent", ["status"] = status, ["is_charge_refundable"] = false,
        ["balance_transactions"] = new JsonArray(), ["metadata"] = new JsonObject(), ["created"] = 1_790_000_000, ["livemode"] = false,
        ["evidence_details"] = new JsonObject { ["due_by"] = 1_790_900_000, ["has_evidence"] = false, ["past_due"] = false, ["submission_count"] = 0 },
    };

    [Fact]
    public async Task A_stripe_dispute_opened_then_won_or_lost_posts_its_exact_entries_once()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        foreach (var (amount, outcome, closedEntry) in new[]
                 {
                     (2500L, "won", "dispute/won: 1000 DR 2500 CR 0; 1300 DR 0 CR 2500"),
                     (3000L, "lost", "dispute/lost: 1300 DR 0 CR 3000; 4960 DR 3000 CR 0"),
                 })
        {
            var customer = await NewCustomerAsync(c);
            await SaveStripeCardAsync(a, customer, "pm_card_visa");
            var payment = (await c.Post("/v1/payments", new { customer_id = customer, amount, currency = "usd", description = "Order" })).Body!;
            Assert.Equal("succeeded", (string?)payment["status"]);
            var paymentId = (string)payment["id"]!;
            var charge = (string)Fake.Get((string)payment["provider_charge_id"]!)!["latest_charge"]!;
            var stripeDispute = "dp_" + Ulid();

            var created = Event("charge.dispute.created", Dispute(stripeDispute, payment, charge, "needs_response"));
            AssertReceipt(await DeliverAsync(a, created), duplicate: false, "applied");
            AssertReceipt(await DeliverAsync(a, created), duplicate: true, "applied");
            var opened = Assert.Single((await c.Get($"/v1/disputes?payment_id={paymentId}")).Body!["data"]!.AsArray())!;
            var disputeId = (string)opened["id"]!;
            Assert.Equal((paymentId, customer, amount, "usd", "fraudulent", "needs_response", "stripe", stripeDispute),
                ((string?)opened["payment_id"], (string?)opened["customer_id"], (long)opened["amount"]!, (string?)opened["currency"], (string?)opened["reason"],
                 (string?)opened["status"], (string?)opened["provider"], (string?)opened["provider_dispute_id"]));

            var closed = Event("charge.dispute.closed", Dispute(stripeDispute, payment, charge, outcome), new JsonObject { ["status"] = "under_review" });
            AssertReceipt(await DeliverAsync(a, closed), duplicate: false, "applied");
            AssertReceipt(await DeliverAsync(a, closed), duplicate: true, "applied");
            // A late update after the dispute closed changes nothing.
            AssertReceipt(await DeliverAsync(a, Event("charge.dispute.updated", Dispute(stripeDispute, payment, charge, "under_review"))), duplicate: false,
                "ignored_dispute_closed");
            var final = (await c.Get($"/v1/disputes/{disputeId}")).Body!;
            Assert.Equal(outcome, (string?)final["status"]);
            Assert.NotNull(final["closed_at"]);

            string[] expected =
            [
                closedEntry, $"dispute/opened: 1000 DR 0 CR {amount}; 1300 DR {amount} CR 0",
                $"invoice/finalized: 1200 DR {amount} CR 0; 4000 DR 0 CR {amount}", $"payment/succeeded: 1000 DR {amount} CR 0; 1200 DR 0 CR {amount}",
            ];
            Assert.Equal(expected.Order(StringComparer.Ordinal), await LedgerLines.OfCustomerAsync(c, customer));
            Assert.Equal([$"dispute.{outcome}", "dispute.opened"], await EventTypesAsync(c, disputeId));
        }
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_card_detached_at_stripe_is_detached_in_kassa_and_the_default_moves_on()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(c);
        var visa = await SaveStripeCardAsync(a, customer, "pm_card_visa");
        var mastercard = await SaveStripeCardAsync(a, customer, "pm_card_mastercard");
        Assert.Equal(visa, (string?)(await c.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);
        Assert.Equal(["payment_method.attached"], await EventTypesAsync(c, visa));

        var token = (await host.Store.ReadAsync(s => s.Payments.GetMethodAsync(a.Tenant, visa)))!.ProviderToken;
        var (stripeCustomer, pmId) = (token.Split('/')[0], token.Split('/')[1]);
        var attachedAgain = Event("payment_method.attached", Fake.Get(pmId)!);
        AssertReceipt(await DeliverAsync(a, attachedAgain), duplicate: false, "ignored_already_attached");

        var detachedPm = Fake.Get(pmId)!;
        detachedPm["customer"] = null;
        var detached = Event("payment_method.detached", detachedPm, new JsonObject { ["customer"] = stripeCustomer });
        AssertReceipt(await DeliverAsync(a, detached), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(a, detached), duplicate: true, "applied");
        AssertReceipt(await DeliverAsync(a, Event("payment_method.detached", detachedPm, new JsonObject { ["customer"] = stripeCustomer })), duplicate: false,
            "ignored_unknown_method");

        Assert.NotNull((await c.Get($"/v1/payment_methods/{visa}")).Body!["detached_at"]);
        Assert.Null((await c.Get($"/v1/payment_methods/{mastercard}")).Body!["detached_at"]);
        Assert.Equal(["payment_method.detached", "payment_method.attached"], await EventTypesAsync(c, visa));
        Assert.Equal([mastercard], await MethodIdsAsync(c, customer));
    }

    [Fact]
    public async Task Deliveries_with_a_wrong_signature_a_stale_timestamp_or_for_a_tenant_without_stripe_are_refused_with_4xx_and_keep_nothing()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a.Client);
        var stripe = await StripeOfAsync(a.Tenant);
        var stripeCustomer = (await stripe.EnsureCustomerAsync(host.Store, customer, a.Ct)).Value!;
        var pmId = Fake.AttachTestCard(stripeCustomer, "pm_card_visa");
        var payload = Event("payment_method.attached", Fake.Get(pmId)!);
        var now = host.Clock.GetUtcNow();

        (await DeliverAsync(a, payload, FakeStripe.Sign(payload, "whsec_not_the_tenants_secret000000001", now)))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverAsync(a, payload, FakeStripe.Sign(payload, WebhookSecret, now.AddSeconds(-301))))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        // Signed when sent, 310 s ahead: the clock is real time, and the requests before this one may have taken seconds
        // under load (301 s ahead of a `now` read earlier was once inside the 300 s tolerance by then).
        (await DeliverAsync(a, payload, FakeStripe.Sign(payload, WebhookSecret, host.Clock.GetUtcNow().AddSeconds(310))))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverAsync(a, payload.Replace("4242", "4243", StringComparison.Ordinal), FakeStripe.Sign(payload, WebhookSecret, now)))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverAsync(a, payload, "")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverAsync(a, payload, "t=1790000000,v1=" + new string('0', 64))).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        // Correctly signed but not a Stripe event (a sender holding the secret, or a bug at the sender): 400, never 500.
        foreach (var hostile in new[]
                 {
                     "{\"id\": \"evt_1\", \"object\": \"event\", \"data\": [", "{}", "[]", "\"evt\"", "null", "",
                     "{\"id\":\"evt_h1\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"livemode\":false,\"data\":{\"object\":{\"object\":\"payment_intent\",\"id\":\"pi_1\",\"amount\":\"lots\"}}}",
                     "{\"id\":\"evt_h2\",\"object\":\"event\",\"type\":\"charge.refunded\",\"livemode\":false,\"data\":{\"object\":{\"object\":\"charge\",\"id\":\"ch_1\",\"amount\":99999999999999999999999}}}",
                     "{\"id\":\"evt_h3\",\"object\":\"event\",\"type\":\"charge.dispute.created\",\"livemode\":false,\"data\":{\"object\":{\"object\":\"dispute\"}}}",
                     "{\"id\":\"evt_h4\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\",\"livemode\":false,\"data\":{\"object\":{\"object\":\"payment_intent\"}}}",
                 })
        {
            var broken = await DeliverAsync(a, hostile, FakeStripe.Sign(hostile, WebhookSecret, now));
            Assert.True((int)broken.Status is >= 400 and < 500 || broken.Status == HttpStatusCode.OK, $"{hostile}: {broken.Status} {broken.Body?.ToJsonString()}");
            Assert.Equal("application/json", broken.Response.Content.Headers.ContentType?.MediaType);
        }

        // The same signed event sent to the live-mode URL, to a tenant without Stripe, to an account that does not exist.
        (await DeliverAsync(a, payload, url: a.WebhookUrl.Replace("livemode=false", "livemode=true", StringComparison.Ordinal)))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        var bare = await NewAccountAsync(configure: false);
        (await DeliverAsync(a, payload, url: bare.WebhookUrl)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverAsync(a, payload, url: "/v1/providers/stripe/webhooks?account_id=acct_does_not_exist&livemode=false"))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.Empty(await MethodIdsAsync(a.Client, customer));

        // None of them kept the event id: the genuine delivery is applied, not a duplicate.
        AssertReceipt(await DeliverAsync(a, payload), duplicate: false, "applied");
        Assert.Single(await MethodIdsAsync(a.Client, customer));
    }
}
