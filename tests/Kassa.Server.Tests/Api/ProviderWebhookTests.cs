using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kassa.Core.Webhooks;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 13 item 3: provider webhooks through the sandbox reader. Signed deliveries settle payments,
/// record dashboard refunds and saved methods with exact rows, events and ledger lines; a repeated
/// delivery (also many at once, on two nodes) has one effect; out-of-order events change nothing once a
/// payment is settled; hostile deliveries are 4xx with the error envelope. Runs on both engines.
/// </summary>
public abstract class ProviderWebhookTests(KassaHost host)
{
    private const string Visa = "4242424242424242";
    private const string ThreeDSecure = "4000002500003155";

    internal sealed record Sandbox(HttpClient Client, string AccountId, string Secret, string Url);

    internal static async Task<Sandbox> NewSandboxAsync(KassaHost host)
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var config = await c.Get("/v1/providers/sandbox");
        Assert.Equal(HttpStatusCode.OK, config.Status);
        Assert.Equal(("provider_config", "sandbox"), ((string?)config.Body!["object"], (string?)config.Body["provider"]));
        var url = (string)config.Body["webhook_url"]!;
        Assert.Equal($"/v1/providers/sandbox/webhooks?account_id={account.AccountId}&livemode=false", url);
        var secret = (string)config.Body["webhook_secret"]!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        // Derived, so asking again answers the same secret.
        Assert.Equal(secret, (string?)(await c.Get("/v1/providers/sandbox")).Body!["webhook_secret"]);
        return new Sandbox(c, account.AccountId, secret, url);
    }

    internal static string NewEventId() => "sbx_evt_" + Guid.NewGuid().ToString("N")[..24];

    internal static string Body(string id, string type, object? data) =>
        JsonSerializer.Serialize(new { id, type, livemode = false, data });

    /// <summary>Posts a body signed with <paramref name="secret"/> at <paramref name="at"/> (default: now) without an API key.</summary>
    internal static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> DeliverRawAsync(HttpClient anonymous, string url, string secret,
        string body, DateTimeOffset at, string? messageId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in SandboxWebhookReader.SignHeaders(secret, messageId ?? NewEventId(), at, body)) request.Headers.TryAddWithoutValidation(name, value);
        var response = await anonymous.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null, response);
    }

    private Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> DeliverAsync(Sandbox sb, string type, object? data, string? eventId = null) =>
        DeliverRawAsync(host.Client(null), sb.Url, sb.Secret, Body(eventId ?? NewEventId(), type, data), host.Clock.GetUtcNow());

    private static void AssertReceipt((HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) r, bool duplicate, string outcome)
    {
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal((true, duplicate, outcome), ((bool)r.Body!["received"]!, (bool)r.Body["duplicate"]!, (string?)r.Body["outcome"]));
    }

    private static async Task<string> NewCustomerAsync(HttpClient c)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{id}", new { name = "Ada" })).Status);
        return id;
    }

    private static async Task<string> AttachAsync(HttpClient c, string customer, string number)
    {
        var attached = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number, exp_month = 12, exp_year = 2031, cvc = "123" } });
        Assert.Equal(HttpStatusCode.Created, attached.Status);
        return (string)attached.Body!["id"]!;
    }

    private static async Task<string> OpenInvoiceAsync(HttpClient c, string customer, long amount)
    {
        var id = (string)(await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", description = "Consulting" })).Body!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/lines", new { description = "Line", amount })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/finalize")).Status);
        return id;
    }

    private static string Lines(JsonNode entry) =>
        string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));

    internal static async Task<string[]> EntryLinesAsync(HttpClient c, string customer) =>
        [.. (await c.Get($"/v1/ledger/entries?customer_id={customer}&limit=100")).Body!["data"]!.AsArray()
            .Select(e => $"{(string?)e!["source"]!["type"]}/{(string?)e["source"]!["action"]}: {Lines(e)}").Order(StringComparer.Ordinal)];

    internal static async Task<string[]> EventTypesAsync(HttpClient c, string objectId) =>
        [.. (await c.Get($"/v1/events?object_id={objectId}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!)];

    private static OperationContext Op(string accountId, DateTimeOffset now) => new(new Tenant(accountId, false), Actor.System, "req_test", now);

    /// <summary>A payment attempt written and committed but never completed: as if the process died before the provider answered.</summary>
    private async Task<(string Customer, string Invoice, string Payment)> ProcessingPaymentAsync(Sandbox sb, long amount)
    {
        var customer = await NewCustomerAsync(sb.Client);
        await AttachAsync(sb.Client, customer, Visa);
        var invoice = await OpenInvoiceAsync(sb.Client, customer, amount);
        var payment = (await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(sb.AccountId, host.Clock.GetUtcNow()), invoice, null), r => r.IsOk)).Value!;
        Assert.Equal("processing", (string?)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["status"]);
        return (customer, invoice, payment);
    }

    [Fact]
    public async Task Charge_succeeded_settles_a_processing_payment_once_and_a_later_failure_or_the_reconcile_changes_nothing()
    {
        var sb = await NewSandboxAsync(host);
        var (customer, invoice, payment) = await ProcessingPaymentAsync(sb, 2500);
        var eventId = NewEventId();
        var data = new { provider_charge_id = "sbx_ch_webhook0001", payment_id = payment, amount = 2500, currency = "usd" };

        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", data, eventId), duplicate: false, "applied");
        var paid = (await sb.Client.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("succeeded", "sbx_ch_webhook0001", (string?)null), ((string?)paid["status"], (string?)paid["provider_charge_id"], (string?)paid["dispute_id"]));
        var inv = (await sb.Client.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("paid", 2500L, 0L), ((string?)inv["status"], (long)inv["amount_paid"]!, (long)inv["amount_due"]!));

        // The same delivery again: acknowledged as a duplicate, with the first one's outcome and no effect.
        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", data, eventId), duplicate: true, "applied");
        // A failure reported after the success (out of order) changes nothing.
        AssertReceipt(await DeliverAsync(sb, "charge.failed",
            new { provider_charge_id = "sbx_ch_webhook0001", payment_id = payment, failure_code = "card_declined", failure_message = "Declined" }),
            duplicate: false, "ignored_already_settled");
        // Kassa's own completion (the reconcile worker) finds the attempt settled and records nothing more.
        var completed = await ChargeInvoice.CompleteAsync(host.Store, new PaymentProviders(new SandboxProvider()), Op(sb.AccountId, host.Clock.GetUtcNow()), payment,
            CancellationToken.None);
        Assert.Equal("succeeded", completed.Value!.Status);

        Assert.Equal("succeeded", (string?)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 2500 CR 0; 4000 DR 0 CR 2500", "payment/succeeded: 1000 DR 2500 CR 0; 1200 DR 0 CR 2500"],
            await EntryLinesAsync(sb.Client, customer));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(sb.Client, payment));
        Assert.Equal(["invoice.paid", "invoice.finalized", "invoice.created"], await EventTypesAsync(sb.Client, invoice));
        await LedgerSelfCheck.AssertHoldsAsync(sb.Client);
    }

    [Fact]
    public async Task Charge_succeeded_completes_a_payment_that_required_action_and_a_mismatched_or_unknown_charge_is_only_recorded()
    {
        var sb = await NewSandboxAsync(host);
        var customer = await NewCustomerAsync(sb.Client);
        await AttachAsync(sb.Client, customer, ThreeDSecure);
        var created = await sb.Client.Post("/v1/payments", new { customer_id = customer, amount = 1999, currency = "usd", description = "Top-up" });
        Assert.Equal((HttpStatusCode.Created, "requires_action"), (created.Status, (string?)created.Body!["status"]));
        var payment = (string)created.Body["id"]!;
        var invoice = (string)created.Body["invoice_id"]!;
        var charge = (string)created.Body["provider_charge_id"]!;

        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", new { provider_charge_id = charge, payment_id = payment, amount = 1998, currency = "usd" }),
            duplicate: false, "ignored_amount_mismatch");
        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", new { provider_charge_id = "sbx_ch_nobody", amount = 1999, currency = "usd" }),
            duplicate: false, "ignored_unknown_payment");
        Assert.Equal("requires_action", (string?)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["status"]);

        // The customer completed 3-D Secure: the provider reports the charge (by its id only) succeeded.
        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", new { provider_charge_id = charge, amount = 1999, currency = "usd" }), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", new { provider_charge_id = charge, amount = 1999, currency = "usd" }), duplicate: false,
            "ignored_already_settled");
        Assert.Equal("succeeded", (string?)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["status"]);
        var inv = (await sb.Client.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("paid", 1999L, 0L), ((string?)inv["status"], (long)inv["amount_paid"]!, (long)inv["amount_due"]!));
        Assert.Equal(["invoice/finalized: 1200 DR 1999 CR 0; 4000 DR 0 CR 1999", "payment/succeeded: 1000 DR 1999 CR 0; 1200 DR 0 CR 1999"],
            await EntryLinesAsync(sb.Client, customer));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(sb.Client, payment));
        // One attempt, counted once on the invoice although it went through requires_action first.
        Assert.Equal(1, (await host.Store.ReadAsync(s => s.Invoices.GetAsync(new Tenant(sb.AccountId, false), invoice)))!.AttemptCount);
        await LedgerSelfCheck.AssertHoldsAsync(sb.Client);
    }

    [Fact]
    public async Task A_3ds_attempt_refused_later_only_fails_the_payment_and_the_invoice_stays_open()
    {
        var sb = await NewSandboxAsync(host);
        var customer = await NewCustomerAsync(sb.Client);
        await AttachAsync(sb.Client, customer, ThreeDSecure);
        var created = (await sb.Client.Post("/v1/payments", new { customer_id = customer, amount = 650, currency = "usd", description = "Top-up" })).Body!;
        var payment = (string)created["id"]!;
        var invoice = (string)created["invoice_id"]!;
        var charge = (string)created["provider_charge_id"]!;
        var refused = new { provider_charge_id = charge, payment_id = payment, failure_code = "authentication_failed", failure_message = "3-D Secure failed" };
        AssertReceipt(await DeliverAsync(sb, "charge.failed", refused), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(sb, "charge.failed", refused), duplicate: false, "ignored_already_settled");
        // A success reported after the failure (out of order) changes nothing either.
        AssertReceipt(await DeliverAsync(sb, "charge.succeeded", new { provider_charge_id = charge, payment_id = payment, amount = 650, currency = "usd" }),
            duplicate: false, "ignored_already_settled");

        var p = (await sb.Client.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("failed", "authentication_failed"), ((string?)p["status"], (string?)p["failure_code"]));
        var inv = (await sb.Client.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("open", 650L), ((string?)inv["status"], (long)inv["amount_due"]!));
        Assert.Equal(["payment.failed"], await EventTypesAsync(sb.Client, payment));
        // Created and finalized in one request share its instant, so only the set is defined, not their order.
        Assert.Equal(["invoice.created", "invoice.finalized", "invoice.payment_failed"], (await EventTypesAsync(sb.Client, invoice)).Order(StringComparer.Ordinal));
        Assert.Equal(1, (await host.Store.ReadAsync(s => s.Invoices.GetAsync(new Tenant(sb.AccountId, false), invoice)))!.AttemptCount);
        Assert.Equal(["invoice/finalized: 1200 DR 650 CR 0; 4000 DR 0 CR 650"], await EntryLinesAsync(sb.Client, customer));
        await LedgerSelfCheck.AssertHoldsAsync(sb.Client);
    }

    [Fact]
    public async Task Refunds_made_at_the_provider_are_recorded_once_a_pending_kassa_refund_is_settled_and_an_unknown_charge_is_only_recorded()
    {
        var sb = await NewSandboxAsync(host);
        var customer = await NewCustomerAsync(sb.Client);
        await AttachAsync(sb.Client, customer, Visa);
        var paid = (await sb.Client.Post("/v1/payments", new { customer_id = customer, amount = 1999, currency = "usd", description = "Top-up" })).Body!;
        var payment = (string)paid["id"]!;
        var charge = (string)paid["provider_charge_id"]!;

        // A refund of a charge Kassa does not know (made elsewhere, or not yet known): recorded and acknowledged, nothing applied.
        AssertReceipt(await DeliverAsync(sb, "charge.refunded", new { provider_charge_id = "sbx_ch_elsewhere", provider_refund_id = "sbx_re_elsewhere", amount = 100, currency = "usd" }),
            duplicate: false, "ignored_unknown_payment");

        // A refund made in the provider's dashboard: a refund row, its entry and payment.refunded, once.
        var dashboard = new { provider_charge_id = charge, provider_refund_id = "sbx_re_dashboard01", amount = 500, currency = "usd" };
        AssertReceipt(await DeliverAsync(sb, "charge.refunded", dashboard), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(sb, "charge.refunded", dashboard), duplicate: false, "ignored_already_recorded");
        var after = (await sb.Client.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("partially_refunded", 500L), ((string?)after["status"], (long)after["amount_refunded"]!));
        // More than is left is never recorded.
        AssertReceipt(await DeliverAsync(sb, "charge.refunded", new { provider_charge_id = charge, provider_refund_id = "sbx_re_toomuch", amount = 1500, currency = "usd" }),
            duplicate: false, "ignored_not_refundable");

        // A refund Kassa asked for, whose provider answer was lost: the provider's event settles it; Kassa's own completion then records nothing more.
        var now = host.Clock.GetUtcNow();
        var refund = (await host.Store.WriteAsync(s => RefundPayment.BeginAsync(s, Op(sb.AccountId, now), payment, 1499, null), r => r.IsOk)).Value!;
        AssertReceipt(await DeliverAsync(sb, "charge.refunded", new { provider_charge_id = charge, provider_refund_id = "sbx_re_kassa01", refund_id = refund, amount = 1499, currency = "usd" }),
            duplicate: false, "applied");
        var completed = await RefundPayment.CompleteAsync(host.Store, new PaymentProviders(new SandboxProvider()), Op(sb.AccountId, now), refund, CancellationToken.None);
        Assert.Equal("succeeded", completed.Value!.Status);

        var final = (await sb.Client.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("refunded", 1999L), ((string?)final["status"], (long)final["amount_refunded"]!));
        var entries = await EntryLinesAsync(sb.Client, customer);
        Assert.Equal(4, entries.Length);
        Assert.Equal(2, entries.Count(e => e.StartsWith("refund/succeeded:", StringComparison.Ordinal)));
        Assert.Contains("refund/succeeded: 1000 DR 0 CR 500; 4950 DR 500 CR 0", entries);
        Assert.Contains("refund/succeeded: 1000 DR 0 CR 1499; 4950 DR 1499 CR 0", entries);
        Assert.Equal(["payment.refunded", "payment.refunded", "payment.succeeded"], await EventTypesAsync(sb.Client, payment));
        await LedgerSelfCheck.AssertHoldsAsync(sb.Client);
    }

    [Fact]
    public async Task Methods_saved_or_removed_at_the_provider_become_payment_methods_once()
    {
        var sb = await NewSandboxAsync(host);
        var customer = await NewCustomerAsync(sb.Client);
        var attached = new
        {
            customer_id = customer, provider_customer_id = "sbx_cus_1", method_token = "sbx_pm_0_feedfacefeedface",
            card = new { brand = "visa", last4 = "4242", exp_month = 11, exp_year = 2030 },
        };
        AssertReceipt(await DeliverAsync(sb, "payment_method.attached", attached), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(sb, "payment_method.attached", attached), duplicate: false, "ignored_already_attached");
        AssertReceipt(await DeliverAsync(sb, "payment_method.attached", attached with { customer_id = "cus_nobody" }), duplicate: false, "ignored_unknown_customer");

        var methods = (await sb.Client.Get($"/v1/customers/{customer}/payment_methods")).Body!["data"]!.AsArray();
        var method = Assert.Single(methods)!;
        var id = (string)method["id"]!;
        Assert.Equal(("sandbox", true, """{"brand":"visa","last4":"4242","exp_month":11,"exp_year":2030}"""),
            ((string?)method["provider"], (bool)method["is_default"]!, method["card"]!.ToJsonString()));
        Assert.Equal(id, (string?)(await sb.Client.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);
        // The token is the sandbox's, so the method charges like one saved through the API.
        var pay = await sb.Client.Post("/v1/payments", new { customer_id = customer, amount = 700, currency = "usd", description = "Top-up" });
        Assert.Equal("succeeded", (string?)pay.Body!["status"]);

        AssertReceipt(await DeliverAsync(sb, "payment_method.detached", new { method_token = "sbx_pm_0_feedfacefeedface" }), duplicate: false, "applied");
        AssertReceipt(await DeliverAsync(sb, "payment_method.detached", new { method_token = "sbx_pm_0_feedfacefeedface" }), duplicate: false, "ignored_unknown_method");
        Assert.NotNull((await sb.Client.Get($"/v1/payment_methods/{id}")).Body!["detached_at"]);
        Assert.Null((await sb.Client.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);
        Assert.Equal(["payment_method.detached", "payment_method.attached"], await EventTypesAsync(sb.Client, id));
    }

    [Fact]
    public async Task Unknown_types_and_completions_of_checkouts_kassa_did_not_open_are_recorded_and_acknowledged()
    {
        var sb = await NewSandboxAsync(host);
        AssertReceipt(await DeliverAsync(sb, "customer.updated", new { anything = 1 }), duplicate: false, "ignored_unhandled_type");
        // No Kassa session opened this provider session: acknowledged, nothing applied (CompleteProviderCheckout).
        AssertReceipt(await DeliverAsync(sb, "checkout.completed", new { provider_session_id = "sbx_cs_1", checkout_session_id = "cs_1", charge_status = "succeeded" }),
            duplicate: false, "ignored_unknown_checkout");
        var id = NewEventId();
        AssertReceipt(await DeliverAsync(sb, "customer.updated", null, id), duplicate: false, "ignored_unhandled_type");
        AssertReceipt(await DeliverAsync(sb, "customer.updated", null, id), duplicate: true, "ignored_unhandled_type");
    }

    [Fact]
    public async Task Hostile_deliveries_answer_4xx_with_the_error_envelope_and_have_no_effect()
    {
        var sb = await NewSandboxAsync(host);
        var other = await NewSandboxAsync(host);
        var (customer, invoice, payment) = await ProcessingPaymentAsync(sb, 1200);
        var anonymous = host.Client(null);
        var now = host.Clock.GetUtcNow();
        var body = Body(NewEventId(), "charge.succeeded", new { provider_charge_id = "sbx_ch_h1", payment_id = payment, amount = 1200, currency = "usd" });

        // Another tenant's secret, or this tenant's signature sent to another tenant's URL.
        (await DeliverRawAsync(anonymous, sb.Url, other.Secret, body, now)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverRawAsync(anonymous, other.Url, sb.Secret, body, now)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        // A stale or future timestamp (replay protection: 5 minutes).
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, body, now - TimeSpan.FromMinutes(6))).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, body, now + TimeSpan.FromMinutes(6))).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        // The body changed after signing.
        var signed = SandboxWebhookReader.SignHeaders(sb.Secret, "msg_1", now, body);
        using (var tampered = new HttpRequestMessage(HttpMethod.Post, sb.Url) { Content = new StringContent(body.Replace("1200", "1201", StringComparison.Ordinal), Encoding.UTF8, "application/json") })
        {
            foreach (var (name, value) in signed) tampered.Headers.TryAddWithoutValidation(name, value);
            var r = await anonymous.SendAsync(tampered);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("signature_invalid", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // No signature headers at all, garbage headers.
        (await anonymous.Send(HttpMethod.Post, sb.Url, rawBody: body)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid");
        using (var garbage = new HttpRequestMessage(HttpMethod.Post, sb.Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") })
        {
            garbage.Headers.TryAddWithoutValidation(StandardWebhooks.IdHeader, "a b");
            garbage.Headers.TryAddWithoutValidation(StandardWebhooks.TimestampHeader, "-1");
            garbage.Headers.TryAddWithoutValidation(StandardWebhooks.SignatureHeaderName, "v1,@@@");
            Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.SendAsync(garbage)).StatusCode);
        }
        // Unknown provider, unknown tenant, bad query.
        (await DeliverRawAsync(anonymous, sb.Url.Replace("/sandbox/", "/paypal/", StringComparison.Ordinal), sb.Secret, body, now))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await DeliverRawAsync(anonymous, "/v1/providers/sandbox/webhooks?account_id=acc_nobody&livemode=false", sb.Secret, body, now))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await DeliverRawAsync(anonymous, $"/v1/providers/sandbox/webhooks?account_id={sb.AccountId}", sb.Secret, body, now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "livemode");
        (await DeliverRawAsync(anonymous, $"/v1/providers/sandbox/webhooks?account_id={sb.AccountId}&livemode=yes", sb.Secret, body, now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "livemode");
        (await DeliverRawAsync(anonymous, $"/v1/providers/sandbox/webhooks?account_id={new string('a', 65)}&livemode=false", sb.Secret, body, now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "account_id");
        (await DeliverRawAsync(anonymous, $"/v1/providers/sandbox/webhooks?account_id={sb.AccountId}&livemode=true", sb.Secret, body, now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "test_mode_only");
        // Oversized (over 256 KiB), malformed JSON, a wrong shape — each correctly signed.
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, "{\"id\":\"" + new string('x', 300_000) + "\"}", now))
            .AssertError(HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "payload_too_large");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, "{\"id\": \"evt_1\", \"type\": ", now)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, "[1, 2]", now)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, Body(NewEventId(), "charge.succeeded", null), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "data");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, Body(NewEventId(), "charge.succeeded", new { provider_charge_id = "x", amount = -5, currency = "usd" }), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "data.amount");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, Body(NewEventId(), "charge.succeeded", new { provider_charge_id = 7, amount = 5, currency = "usd" }), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "data.provider_charge_id");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, Body(NewEventId(), "dispute.changed",
            new { provider_dispute_id = "d", provider_charge_id = "c", amount = 5, currency = "US", reason = "r", status = "won" }), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "data.currency");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, JsonSerializer.Serialize(new { id = "evt_live", type = "x", livemode = true }), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "signature_invalid", "livemode");
        (await DeliverRawAsync(anonymous, sb.Url, sb.Secret, JsonSerializer.Serialize(new { id = new string('e', 256), type = "x" }), now))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "id");
        // The sandbox configuration is test mode only.
        var live = host.Client((await host.NewAccountAsync()).LiveSecretKey);
        (await live.Get("/v1/providers/sandbox")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "test_mode_only");

        Assert.Equal("processing", (string?)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["status"]);
        Assert.Equal("open", (string?)(await sb.Client.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 1200 CR 0; 4000 DR 0 CR 1200"], await EntryLinesAsync(sb.Client, customer));
        // And the genuine delivery still applies (none of the refused ones left a dedupe row).
        AssertReceipt(await DeliverRawAsync(anonymous, sb.Url, sb.Secret, body, now), duplicate: false, "applied");
    }

    [Fact]
    public async Task Concurrent_duplicate_deliveries_on_two_nodes_have_one_effect()
    {
        var sb = await NewSandboxAsync(host);
        var (customer, _, payment) = await ProcessingPaymentAsync(sb, 4200);
        var otherNode = await host.AnotherNodeClientAsync();
        otherNode.DefaultRequestHeaders.Authorization = null;
        var nodes = new[] { host.Client(null), otherNode };
        var body = Body(NewEventId(), "charge.succeeded", new { provider_charge_id = "sbx_ch_race", payment_id = payment, amount = 4200, currency = "usd" });
        var now = host.Clock.GetUtcNow();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => DeliverRawAsync(nodes[i % 2], sb.Url, sb.Secret, body, now)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Equal(1, answers.Count(a => !(bool)a.Body!["duplicate"]!));
        Assert.All(answers, a => Assert.Equal("applied", (string?)a.Body!["outcome"]));
        Assert.Equal(["invoice/finalized: 1200 DR 4200 CR 0; 4000 DR 0 CR 4200", "payment/succeeded: 1000 DR 4200 CR 0; 1200 DR 0 CR 4200"],
            await EntryLinesAsync(sb.Client, customer));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(sb.Client, payment));

        // Different events of one dashboard refund, at once: one refund.
        var refunds = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => DeliverRawAsync(nodes[i % 2], sb.Url, sb.Secret,
            Body(NewEventId(), "charge.refunded", new { provider_charge_id = "sbx_ch_race", provider_refund_id = "sbx_re_race", amount = 200, currency = "usd" }), now)));
        Assert.All(refunds, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Equal(1, refunds.Count(a => (string?)a.Body!["outcome"] == "applied"));
        Assert.Equal(200L, (long)(await sb.Client.Get($"/v1/payments/{payment}")).Body!["amount_refunded"]!);
        await LedgerSelfCheck.AssertHoldsAsync(sb.Client);
    }
}

public sealed class ProviderWebhookTestsSqlite(SqliteHost host) : ProviderWebhookTests(host), IClassFixture<SqliteHost>;

public sealed class ProviderWebhookTestsPostgres(PostgresHost host) : ProviderWebhookTests(host), IClassFixture<PostgresHost>;
