using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §8 sandbox payments: payment methods and the test cards, charges that settle invoices, refunds,
/// and the two-step attempt that never charges twice (concurrent pays, a crash before the charge, a
/// charge whose answer was lost). Exact amounts, statuses, events and ledger lines; after every test the
/// ledger self-check holds. Each test uses an account of its own. Runs on both engines.
/// </summary>
public abstract class PaymentTests(KassaHost host)
{
    private const string Visa = "4242424242424242";
    private const string Mastercard = "5555555555554444";
    private const string Declined = "4000000000000002";
    private const string NoFunds = "4000000000009995";
    private const string ThreeDSecure = "4000002500003155";
    private const string ChargeFails = "4000000000000341";

    private async Task<(HttpClient Client, string AccountId)> NewAccountAsync()
    {
        var account = await host.NewAccountAsync();
        return (host.Client(account.TestSecretKey), account.AccountId);
    }

    private static async Task<string> NewCustomerAsync(HttpClient c)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{id}", new { name = "Ada" })).Status);
        return id;
    }

    private static object Card(string number, int expMonth = 12, int expYear = 2031, string cvc = "123") =>
        new { number, exp_month = expMonth, exp_year = expYear, cvc };

    private static async Task<string> AttachAsync(HttpClient c, string customer, string number)
    {
        var attached = await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(number) });
        Assert.Equal(HttpStatusCode.Created, attached.Status);
        return (string)attached.Body!["id"]!;
    }

    private static async Task<string> OpenInvoiceAsync(HttpClient c, string customer, params long[] amounts)
    {
        var created = await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", description = "Consulting" });
        var id = (string)created.Body!["id"]!;
        foreach (var amount in amounts)
            Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/lines", new { description = "Line", amount })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/finalize")).Status);
        return id;
    }

    /// <summary>
    /// The customer's entries as text, sorted: entries of one request share its instant, so their
    /// newest-first order is not defined between them.
    /// </summary>
    private static async Task<string[]> EventTypesAsync(HttpClient c, string objectId) =>
        [.. (await c.Get($"/v1/events?object_id={objectId}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!)];

    private static async Task<JsonArray> PaymentsAsync(HttpClient c, string customer) =>
        (await c.Get($"/v1/payments?customer_id={customer}&limit=100")).Body!["data"]!.AsArray();

    private static async Task<long> BalanceAsync(HttpClient c, string code) =>
        (long)(await c.Get("/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z")).Body!["accounts"]!.AsArray().Single(a => (string?)a!["code"] == code)!["balance"]!;

    private static OperationContext Op(string accountId, DateTimeOffset now) => new(new Tenant(accountId, false), Actor.System, "req_test", now);

    [Fact]
    public async Task Cards_attach_with_the_first_as_default_and_the_refused_test_cards_answer_402_with_their_codes()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        var first = await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card("4242 4242 4242 4242", 7, 2031) });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var pm = first.Body!;
        var visa = (string)pm["id"]!;
        Assert.Matches("^pm_[0-9A-Z]{26}$", visa);
        Assert.Equal(("payment_method", "card", customer, "sandbox", true), ((string?)pm["object"], (string?)pm["type"], (string?)pm["customer_id"], (string?)pm["provider"], (bool)pm["is_default"]!));
        Assert.Equal("""{"brand":"visa","last4":"4242","exp_month":7,"exp_year":2031}""", pm["card"]!.ToJsonString());
        Assert.DoesNotContain("token", pm.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("4242424242424242", pm.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(visa, (string?)(await c.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);

        var mastercard = await AttachAsync(c, customer, Mastercard);
        var second = (await c.Get($"/v1/payment_methods/{mastercard}")).Body!;
        Assert.Equal(("mastercard", "4444", false), ((string?)second["card"]!["brand"], (string?)second["card"]!["last4"], (bool)second["is_default"]!));
        Assert.Equal([mastercard, visa], (await c.Get($"/v1/customers/{customer}/payment_methods")).Body!["data"]!.AsArray().Select(m => (string)m!["id"]!).ToArray());

        var made = await c.Post($"/v1/customers/{customer}/default_payment_method", new { payment_method_id = mastercard });
        Assert.Equal(HttpStatusCode.OK, made.Status);
        Assert.Equal(("customer", mastercard), ((string?)made.Body!["object"], (string?)made.Body["default_payment_method_id"]));
        Assert.False((bool)(await c.Get($"/v1/payment_methods/{visa}")).Body!["is_default"]!);
        Assert.True((bool)(await c.Get($"/v1/payment_methods/{mastercard}")).Body!["is_default"]!);

        var detached = await c.Delete($"/v1/payment_methods/{mastercard}");
        Assert.Equal(HttpStatusCode.OK, detached.Status);
        Assert.NotNull(detached.Body!["detached_at"]);
        Assert.False((bool)detached.Body["is_default"]!);
        Assert.Null((await c.Get($"/v1/customers/{customer}")).Body!["default_payment_method_id"]);
        Assert.Equal([visa], (await c.Get($"/v1/customers/{customer}/payment_methods")).Body!["data"]!.AsArray().Select(m => (string)m!["id"]!).ToArray());
        (await c.Delete($"/v1/payment_methods/{mastercard}")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/customers/{customer}/default_payment_method", new { payment_method_id = mastercard })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(["payment_method.detached", "payment_method.attached"], await EventTypesAsync(c, mastercard));

        // Refused at attach, with the card's own code; nothing is saved.
        var declined = (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(Declined) }))
            .AssertError(HttpStatusCode.PaymentRequired, "payment_error", "card_declined", "card");
        Assert.Contains("declined", (string)declined["message"]!, StringComparison.Ordinal);
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(NoFunds) }))
            .AssertError(HttpStatusCode.PaymentRequired, "payment_error", "insufficient_funds", "card");
        Assert.Single((await c.Get($"/v1/customers/{customer}/payment_methods")).Body!["data"]!.AsArray());
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Paying_an_open_invoice_makes_it_paid_and_posts_cash_against_receivables_once()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        var pm = await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 2000, 500);

        var paid = await c.Post($"/v1/invoices/{invoice}/pay", new { });
        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal(("paid", 2500L, 2500L, 0L), ((string?)paid.Body!["status"], (long)paid.Body["total"]!, (long)paid.Body["amount_paid"]!, (long)paid.Body["amount_due"]!));
        Assert.NotNull(paid.Body["paid_at"]);
        Assert.Equal(paid.Body.ToJsonString(), (await c.Get($"/v1/invoices/{invoice}")).Body!.ToJsonString());

        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        var paymentId = (string)payment["id"]!;
        Assert.Matches("^pay_[0-9A-Z]{26}$", paymentId);
        Assert.Equal(("payment", "succeeded", 2500L, "usd", invoice, pm, "sandbox", 0L),
            ((string?)payment["object"], (string?)payment["status"], (long)payment["amount"]!, (string?)payment["currency"], (string?)payment["invoice_id"],
                (string?)payment["payment_method_id"], (string?)payment["provider"], (long)payment["amount_refunded"]!));
        Assert.Null(payment["failure_code"]);
        Assert.StartsWith("sbx_ch_", (string)payment["provider_charge_id"]!, StringComparison.Ordinal);
        Assert.Equal(payment.ToJsonString(), (await c.Get($"/v1/payments/{paymentId}")).Body!.ToJsonString());

        Assert.Equal(["invoice/finalized: 1200 DR 2500 CR 0; 4000 DR 0 CR 2500", "payment/succeeded: 1000 DR 2500 CR 0; 1200 DR 0 CR 2500"],
            await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(["invoice.paid", "invoice.finalized", "invoice.created"], await EventTypesAsync(c, invoice));
        Assert.Equal(["payment.succeeded"], await EventTypesAsync(c, paymentId));
        Assert.Equal((2500L, 0L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "1200")));

        // Paid means settled: a second pay is refused and nothing charges or posts again.
        (await c.Post($"/v1/invoices/{invoice}/pay", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/invoices/{invoice}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Single(await PaymentsAsync(c, customer));
        Assert.Equal(2, (await LedgerLines.OfCustomerAsync(c, customer)).Length);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_payment_without_an_invoice_settles_a_one_time_invoice_made_for_it_and_one_with_an_invoice_settles_that()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        var pm = await AttachAsync(c, customer, Visa);

        var created = await c.Post("/v1/payments", new { customer_id = customer, amount = 1999, currency = "usd", description = "Credit top-up" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var payment = created.Body!;
        Assert.Equal(("succeeded", 1999L, pm, "Credit top-up"), ((string?)payment["status"], (long)payment["amount"]!, (string?)payment["payment_method_id"], (string?)payment["description"]));
        var invoiceId = (string)payment["invoice_id"]!;
        var invoice = (await c.Get($"/v1/invoices/{invoiceId}")).Body!;
        Assert.Equal(("paid", "KAS-000001", 1999L, 1999L, 0L), ((string?)invoice["status"], (string?)invoice["number"], (long)invoice["total"]!, (long)invoice["amount_paid"]!, (long)invoice["amount_due"]!));
        var line = Assert.Single(invoice["lines"]!.AsArray())!;
        Assert.Equal(("one_time", "Credit top-up", 1m, 1999L), ((string?)line["type"], (string?)line["description"], (decimal)line["quantity"]!, (long)line["amount"]!));
        Assert.Equal(["invoice/finalized: 1200 DR 1999 CR 0; 4000 DR 0 CR 1999", "payment/succeeded: 1000 DR 1999 CR 0; 1200 DR 0 CR 1999"],
            await LedgerLines.OfCustomerAsync(c, customer));

        // With invoice_id the payment must be for exactly that invoice's amount_due, and settles it.
        var open = await OpenInvoiceAsync(c, customer, 700);
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 699, currency = "usd", description = "x", invoice_id = open }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 700, currency = "eur", description = "x", invoice_id = open }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        var settles = await c.Post("/v1/payments", new { customer_id = customer, amount = 700, currency = "usd", description = "Invoice KAS-000002", invoice_id = open, payment_method_id = pm });
        Assert.Equal(HttpStatusCode.Created, settles.Status);
        Assert.Equal(("succeeded", open), ((string?)settles.Body!["status"], (string?)settles.Body["invoice_id"]));
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{open}")).Body!["status"]);
        Assert.Equal(2, (await PaymentsAsync(c, customer)).Count);
        Assert.Equal(2699L, await BalanceAsync(c, "1000"));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_3d_secure_card_leaves_the_invoice_open_with_requires_action_and_another_card_then_pays_it()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        var secure = await AttachAsync(c, customer, ThreeDSecure);
        var invoice = await OpenInvoiceAsync(c, customer, 1500);

        var refused = (await c.Post($"/v1/invoices/{invoice}/pay", new { })).AssertError(HttpStatusCode.PaymentRequired, "payment_error", "requires_action");
        var attempt = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Contains((string)attempt["id"]!, (string)refused["message"]!, StringComparison.Ordinal);
        Assert.Equal(("requires_action", "requires_action", secure, 1500L), ((string?)attempt["status"], (string?)attempt["failure_code"], (string?)attempt["payment_method_id"], (long)attempt["amount"]!));
        var still = (await c.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("open", 1500L, 0L), ((string?)still["status"], (long)still["amount_due"]!, (long)still["amount_paid"]!));
        Assert.Equal(["invoice.payment_failed", "invoice.finalized", "invoice.created"], await EventTypesAsync(c, invoice));
        Assert.Equal(["invoice/finalized: 1200 DR 1500 CR 0; 4000 DR 0 CR 1500"], await LedgerLines.OfCustomerAsync(c, customer));
        await LedgerSelfCheck.AssertHoldsAsync(c);

        // The attempt is settled, so a new one may start, with a card that works.
        var visa = await AttachAsync(c, customer, Visa);
        var paid = await c.Post($"/v1/invoices/{invoice}/pay", new { payment_method_id = visa });
        Assert.Equal(HttpStatusCode.OK, paid.Status);
        Assert.Equal("paid", (string?)paid.Body!["status"]);
        Assert.Equal(["succeeded", "requires_action"], (await PaymentsAsync(c, customer)).Select(p => (string)p!["status"]!).ToArray());
        Assert.Equal(1500L, await BalanceAsync(c, "1000"));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_card_whose_charges_fail_attaches_and_each_charge_fails_with_card_declined_leaving_the_invoice_open()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        var failing = await AttachAsync(c, customer, ChargeFails);
        var invoice = await OpenInvoiceAsync(c, customer, 3000);

        (await c.Post($"/v1/invoices/{invoice}/pay", new { })).AssertError(HttpStatusCode.PaymentRequired, "payment_error", "card_declined");
        var failed = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("failed", "card_declined", failing), ((string?)failed["status"], (string?)failed["failure_code"], (string?)failed["payment_method_id"]));
        Assert.Equal("open", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice.payment_failed", "invoice.finalized", "invoice.created"], await EventTypesAsync(c, invoice));
        Assert.Equal(["payment.failed"], await EventTypesAsync(c, (string)failed["id"]!));

        // POST /v1/payments answers the failed payment itself (201: the attempt exists), its invoice open.
        var direct = await c.Post("/v1/payments", new { customer_id = customer, amount = 450, currency = "usd", description = "Add-on" });
        Assert.Equal(HttpStatusCode.Created, direct.Status);
        Assert.Equal(("failed", "card_declined", 450L), ((string?)direct.Body!["status"], (string?)direct.Body["failure_code"], (long)direct.Body["amount"]!));
        var its = (await c.Get($"/v1/invoices/{(string)direct.Body["invoice_id"]!}")).Body!;
        Assert.Equal(("open", 450L), ((string?)its["status"], (long)its["amount_due"]!));
        Assert.Equal((0L, 3450L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "1200")));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Refunds_partial_then_full_then_one_more_is_refused_with_exact_amounts_and_ledger()
    {
        var (c, _) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var payment = (string)(await c.Post("/v1/payments", new { customer_id = customer, amount = 5000, currency = "usd", description = "Annual plan" })).Body!["id"]!;

        (await c.Post($"/v1/payments/{payment}/refunds", new { amount = 5001 })).AssertError(HttpStatusCode.Conflict, "conflict", "refund_exceeds_payment", "amount");
        var partial = await c.Post($"/v1/payments/{payment}/refunds", new { amount = 1200 });
        Assert.Equal(HttpStatusCode.Created, partial.Status);
        var first = partial.Body!;
        Assert.Matches("^re_[0-9A-Z]{26}$", (string)first["id"]!);
        Assert.Equal(("refund", payment, 1200L, "usd", "succeeded"), ((string?)first["object"], (string?)first["payment_id"], (long)first["amount"]!, (string?)first["currency"], (string?)first["status"]));
        Assert.StartsWith("sbx_re_", (string)first["provider_refund_id"]!, StringComparison.Ordinal);
        var after = (await c.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("partially_refunded", 1200L), ((string?)after["status"], (long)after["amount_refunded"]!));

        var rest = await c.Post($"/v1/payments/{payment}/refunds", new { });
        Assert.Equal(HttpStatusCode.Created, rest.Status);
        Assert.Equal((3800L, "succeeded"), ((long)rest.Body!["amount"]!, (string?)rest.Body["status"]));
        after = (await c.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("refunded", 5000L), ((string?)after["status"], (long)after["amount_refunded"]!));

        (await c.Post($"/v1/payments/{payment}/refunds", new { amount = 1 })).AssertError(HttpStatusCode.Conflict, "conflict", "refund_exceeds_payment", "amount");
        (await c.Post($"/v1/payments/{payment}/refunds", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "refund_exceeds_payment", "amount");

        var entries = await LedgerLines.OfCustomerAsync(c, customer);
        Assert.Equal(["invoice/finalized: 1200 DR 5000 CR 0; 4000 DR 0 CR 5000", "payment/succeeded: 1000 DR 5000 CR 0; 1200 DR 0 CR 5000",
            "refund/succeeded: 1000 DR 0 CR 1200; 4950 DR 1200 CR 0", "refund/succeeded: 1000 DR 0 CR 3800; 4950 DR 3800 CR 0"], entries);
        Assert.Equal((0L, 5000L, 0L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "4950"), await BalanceAsync(c, "1200")));
        Assert.Equal(["payment.refunded", "payment.refunded", "payment.succeeded"], await EventTypesAsync(c, payment));
        // The invoice stays paid: a refund returns money; adjusting what was billed is a credit note's job.
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{(string)after["invoice_id"]!}")).Body!["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Ten_concurrent_pays_of_one_invoice_charge_once_and_the_others_get_409()
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 4200);
        // Half the requests go to a second node on the same database: only the database is shared.
        var other = await host.AnotherNodeClientAsync(account.TestSecretKey);

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? c : other).Post($"/v1/invoices/{invoice}/pay", new { })));
        Assert.Single(results, r => r.Status == HttpStatusCode.OK);
        foreach (var refused in results.Where(r => r.Status != HttpStatusCode.OK))
            refused.AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal(("succeeded", 4200L), ((string?)payment["status"], (long)payment["amount"]!));
        Assert.Equal(["invoice/finalized: 1200 DR 4200 CR 0; 4000 DR 0 CR 4200", "payment/succeeded: 1000 DR 4200 CR 0; 1200 DR 0 CR 4200"],
            await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(4200L, await BalanceAsync(c, "1000"));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_gets_the_same_payment_and_never_a_second_charge()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var body = new { customer_id = customer, amount = 800, currency = "usd", description = "Seats" };
        var first = await c.Post("/v1/payments", body, idempotencyKey: "pay-seats-1");
        var again = await c.Post("/v1/payments", body, idempotencyKey: "pay-seats-1");
        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.Status, again.Status));
        Assert.Equal(first.Body!.ToJsonString(), again.Body!.ToJsonString());
        Assert.Equal("true", again.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(await PaymentsAsync(c, customer));

        // The first run of a request began its attempt and died before answering (nothing stored under
        // its key): the retry finds that attempt by the key and completes it, instead of charging again.
        var invoice = await OpenInvoiceAsync(c, customer, 950);
        var begun = await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(accountId, host.Clock.GetUtcNow()), invoice, null, "pay-invoice-7"), r => r.IsOk);
        var retried = await c.Post($"/v1/invoices/{invoice}/pay", new { }, idempotencyKey: "pay-invoice-7");
        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal("paid", (string?)retried.Body!["status"]);
        var payments = await PaymentsAsync(c, customer);
        Assert.Equal(2, payments.Count);
        Assert.Equal((begun.Value, "succeeded"), ((string?)payments[0]!["id"], (string?)payments[0]!["status"]));
        Assert.Equal(1750L, await BalanceAsync(c, "1000"));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task An_attempt_begun_before_a_crash_is_completed_by_reconcile_exactly_once()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 6100);
        var now = host.Clock.GetUtcNow();
        // The request's first step committed; the process died before it called the provider.
        var begun = await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(accountId, now), invoice, null), r => r.IsOk);
        var paymentId = begun.Value!;
        Assert.Equal("processing", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        (await c.Post($"/v1/invoices/{invoice}/pay", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        await LedgerSelfCheck.AssertHoldsAsync(c);

        var providers = new PaymentProviders(new SandboxProvider());
        // Within the grace period the attempt is left to its request.
        Assert.Equal(0, (await ReconcilePayments.RunOnceAsync(host.Store, providers, now, CancellationToken.None)).Payments);
        Assert.Equal("processing", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);

        var later = now + ReconcilePayments.Grace + TimeSpan.FromSeconds(1);
        Assert.Equal(1, (await ReconcilePayments.RunOnceAsync(host.Store, providers, later, CancellationToken.None)).Payments);
        Assert.Equal(0, (await ReconcilePayments.RunOnceAsync(host.Store, providers, later, CancellationToken.None)).Payments);
        var payment = Assert.Single(await PaymentsAsync(c, customer))!;
        Assert.Equal((paymentId, "succeeded", 6100L), ((string?)payment["id"], (string?)payment["status"], (long)payment["amount"]!));
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 6100 CR 0; 4000 DR 0 CR 6100", "payment/succeeded: 1000 DR 6100 CR 0; 1200 DR 0 CR 6100"],
            await LedgerLines.OfCustomerAsync(c, customer));
        // Completing it again (a late request, another node) answers the stored outcome and posts nothing.
        var again = await ChargeInvoice.CompleteAsync(host.Store, providers, Op(accountId, later), paymentId, CancellationToken.None);
        Assert.Equal(("succeeded", "paid"), (again.Value!.Status, again.Value.InvoiceStatus));
        Assert.Equal(2, (await LedgerLines.OfCustomerAsync(c, customer)).Length);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_charge_whose_outcome_was_lost_is_recorded_by_reconcile_with_the_same_provider_charge_and_one_entry()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 2750);
        var now = host.Clock.GetUtcNow();
        var paymentId = (await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(accountId, now), invoice, null), r => r.IsOk)).Value!;

        // The provider charges, then the answer is lost before the outcome transaction could run.
        var faulty = new ChargesThenLosesTheAnswer(new SandboxProvider());
        await Assert.ThrowsAsync<IOException>(() =>
            ChargeInvoice.CompleteAsync(host.Store, new PaymentProviders(faulty), Op(accountId, now), paymentId, CancellationToken.None));
        Assert.NotNull(faulty.Charged);
        Assert.Equal("processing", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        Assert.Equal("open", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);

        var report = await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(new SandboxProvider()), now + TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(new ReconcilePayments.Report(1, 0, 0), report);
        var payment = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("succeeded", faulty.Charged!.ProviderChargeId), ((string?)payment["status"], (string?)payment["provider_charge_id"]));
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 2750 CR 0; 4000 DR 0 CR 2750", "payment/succeeded: 1000 DR 2750 CR 0; 1200 DR 0 CR 2750"],
            await LedgerLines.OfCustomerAsync(c, customer));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_charge_that_succeeds_after_its_invoice_was_voided_is_held_as_customer_credit()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 1300);
        var now = host.Clock.GetUtcNow();
        var paymentId = (await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(accountId, now), invoice, null), r => r.IsOk)).Value!;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{invoice}/void")).Status);

        var report = await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(new SandboxProvider()), now + TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(new ReconcilePayments.Report(1, 0, 0), report);
        Assert.Equal("succeeded", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        Assert.Equal("void", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 1300 CR 0; 4000 DR 0 CR 1300", "invoice/voided: 1200 DR 0 CR 1300; 4000 DR 1300 CR 0",
            "payment/succeeded: 1000 DR 1300 CR 0; 2000 DR 0 CR 1300"], await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal((1300L, 1300L, 0L), (await BalanceAsync(c, "1000"), await BalanceAsync(c, "2000"), await BalanceAsync(c, "1200")));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Two_reconcile_workers_starting_at_once_after_a_crash_complete_the_attempt_once()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var invoice = await OpenInvoiceAsync(c, customer, 3300);
        // Begun a minute ago by a process that then died: past the grace period when the workers start.
        var begunAt = host.Clock.GetUtcNow() - TimeSpan.FromMinutes(1);
        var paymentId = (await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, Op(accountId, begunAt), invoice, null), r => r.IsOk)).Value!;

        // Two processes restarting at once: each store is its own pool (and SQLite write gate).
        await using var otherStore = host.OpenAnotherStore();
        var providers = new PaymentProviders(new SandboxProvider());
        using var one = new Kassa.Server.Workers.PaymentReconcileWorker(host.Store, providers, host.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<Kassa.Server.Workers.PaymentReconcileWorker>.Instance);
        using var two = new Kassa.Server.Workers.PaymentReconcileWorker(otherStore, providers, host.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<Kassa.Server.Workers.PaymentReconcileWorker>.Instance);
        await Task.WhenAll(one.StartAsync(CancellationToken.None), two.StartAsync(CancellationToken.None));
        string? status = null;
        for (var i = 0; i < 100 && status != "succeeded"; i++)
        {
            status = (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"];
            if (status != "succeeded") await Task.Delay(100);
        }
        await Task.WhenAll(one.StopAsync(CancellationToken.None), two.StopAsync(CancellationToken.None));

        Assert.Equal("succeeded", status);
        Assert.Equal("paid", (string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"]);
        Assert.Equal(["invoice/finalized: 1200 DR 3300 CR 0; 4000 DR 0 CR 3300", "payment/succeeded: 1000 DR 3300 CR 0; 1200 DR 0 CR 3300"],
            await LedgerLines.OfCustomerAsync(c, customer));
        Assert.Equal(["invoice.paid", "invoice.finalized", "invoice.created"], await EventTypesAsync(c, invoice));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task A_refund_begun_before_a_crash_is_completed_by_reconcile_once()
    {
        var (c, accountId) = await NewAccountAsync();
        var customer = await NewCustomerAsync(c);
        await AttachAsync(c, customer, Visa);
        var payment = (string)(await c.Post("/v1/payments", new { customer_id = customer, amount = 900, currency = "usd", description = "Pack" })).Body!["id"]!;
        var now = host.Clock.GetUtcNow();
        var refundId = (await host.Store.WriteAsync(s => RefundPayment.BeginAsync(s, Op(accountId, now), payment, 300, null), r => r.IsOk)).Value!;
        // The pending refund is reserved: only 600 is left to refund meanwhile.
        (await c.Post($"/v1/payments/{payment}/refunds", new { amount = 601 })).AssertError(HttpStatusCode.Conflict, "conflict", "refund_exceeds_payment", "amount");

        var report = await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(new SandboxProvider()), now + TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(new ReconcilePayments.Report(0, 1, 0), report);
        var after = (await c.Get($"/v1/payments/{payment}")).Body!;
        Assert.Equal(("partially_refunded", 300L), ((string?)after["status"], (long)after["amount_refunded"]!));
        Assert.Equal("refund/succeeded: 1000 DR 0 CR 300; 4950 DR 300 CR 0", (await LedgerLines.OfCustomerAsync(c, customer))[2]);
        Assert.Equal(refundId, (await c.Get($"/v1/ledger/entries?customer_id={customer}")).Body!["data"]![0]!["source"]!["id"]!.GetValue<string>());
        Assert.Equal(600L, await BalanceAsync(c, "1000"));
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    [Fact]
    public async Task Hostile_input_is_refused_with_the_error_envelope()
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var customer = await NewCustomerAsync(c);
        var bare = await NewCustomerAsync(c);

        (await host.Client(account.LiveSecretKey).Post("/v1/payment_methods", new { customer_id = customer, card = Card(Visa) }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "test_mode_only");
        (await c.Post("/v1/payment_methods", new { card = Card(Visa) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "customer_id");
        (await c.Post("/v1/payment_methods", new { customer_id = customer })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "card");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(Visa), colour = "red" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "colour");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card("4242424242424241") })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "card.number");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card("4242-4242") })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "card.number");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(Visa, expMonth: 13) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "card.exp_month");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(Visa, expYear: 2020) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "card.exp_year");
        (await c.Post("/v1/payment_methods", new { customer_id = customer, card = Card(Visa, cvc: "12a") })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "card.cvc");
        var wrongType = await c.Send(HttpMethod.Post, "/v1/payment_methods", rawBody: $$$"""{"customer_id":"{{{customer}}}","card":{"number":"{{{Visa}}}","exp_month":"12","exp_year":2031,"cvc":"123"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.Status);
        Assert.Equal("invalid_request_error", (string?)wrongType.Body!["error"]!["type"]);
        (await c.Post("/v1/payment_methods", new { customer_id = "nobody_here", card = Card(Visa) })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/payment_methods/pm_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Delete("/v1/payment_methods/pm_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/customers/nobody_here/payment_methods")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get($"/v1/customers/{customer}/payment_methods?limit=0")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "limit");
        (await c.Post($"/v1/customers/{customer}/default_payment_method", new { })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "payment_method_id");

        var pm = await AttachAsync(c, customer, Visa);
        (await c.Post($"/v1/customers/{bare}/default_payment_method", new { payment_method_id = pm })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "payment_method_id");
        (await host.Client((await host.NewAccountAsync()).TestSecretKey).Get($"/v1/payment_methods/{pm}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");

        (await c.Post("/v1/payments", new { customer_id = customer, amount = 0, currency = "usd", description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = -5, currency = "usd", description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 1_000_000_000_001L, currency = "usd", description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        var fractional = await c.Send(HttpMethod.Post, "/v1/payments", rawBody: $$"""{"customer_id":"{{customer}}","amount":1.5,"currency":"usd","description":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, fractional.Status);
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 100, currency = "xyz", description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 100, currency = "usd" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "description");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 100, currency = "usd", description = "x", tip = 5 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "tip");
        (await c.Post("/v1/payments", new { customer_id = "nobody_here", amount = 100, currency = "usd", description = "x" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Post("/v1/payments", new { customer_id = bare, amount = 100, currency = "usd", description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "payment_method_id");
        (await c.Post("/v1/payments", new { customer_id = bare, amount = 100, currency = "usd", description = "x", payment_method_id = pm })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "payment_method_id");
        (await c.Post("/v1/payments", new { customer_id = customer, amount = 100, currency = "usd", description = "x", invoice_id = "in_missing" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "invoice_id");
        (await c.Get("/v1/payments/pay_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get($"/v1/payments?customer_id={new string('a', 300)}")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "customer_id");
        (await c.Get("/v1/payments?starting_after=garbage")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "starting_after");

        (await c.Post("/v1/payments/pay_missing/refunds", new { amount = 1 })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var failing = await AttachAsync(c, bare, ChargeFails);
        var failed = (string)(await c.Post("/v1/payments", new { customer_id = bare, amount = 100, currency = "usd", description = "x", payment_method_id = failing })).Body!["id"]!;
        (await c.Post($"/v1/payments/{failed}/refunds", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/payments/{failed}/refunds", new { amount = 0 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post($"/v1/payments/{failed}/refunds", new { amount = 1, reason = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "reason");

        (await c.Post("/v1/invoices/in_missing/pay", new { })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var draft = (string)(await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd" })).Body!["id"]!;
        (await c.Post($"/v1/invoices/{draft}/pay", new { })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        var open = await OpenInvoiceAsync(c, customer, 100);
        (await c.Post($"/v1/invoices/{open}/pay", new { payment_method_id = failing })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "payment_method_id");
        (await c.Post($"/v1/invoices/{open}/pay", new { method = pm })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "method");
        (await c.Post($"/v1/invoices/{open}/pay", new { }, idempotencyKey: new string('k', 256))).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "Idempotency-Key");
        Assert.Equal("open", (string?)(await c.Get($"/v1/invoices/{open}")).Body!["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }

    /// <summary>A provider that charges through the sandbox and then loses the answer, as a network or a crash would.</summary>
    private sealed class ChargesThenLosesTheAnswer(SandboxProvider inner) : IPaymentProvider
    {
        public ChargeResult? Charged { get; private set; }
        public string Name => inner.Name;

        public Task<AttachResult> AttachCardAsync(string customerId, CardInput card, DateTimeOffset now, CancellationToken ct) => inner.AttachCardAsync(customerId, card, now, ct);

        public async Task<ChargeResult> ChargeAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
        {
            Charged = await inner.ChargeAsync(methodToken, amountMinor, currency, idempotencyKey, ct);
            throw new IOException("connection reset after the charge was made");
        }

        public Task<RefundResult> RefundAsync(string providerChargeId, long amountMinor, string currency, string idempotencyKey, CancellationToken ct) =>
            inner.RefundAsync(providerChargeId, amountMinor, currency, idempotencyKey, ct);
    }
}

public sealed class PaymentTestsSqlite(SqliteHost host) : PaymentTests(host), IClassFixture<SqliteHost>;

public sealed class PaymentTestsPostgres(PostgresHost host) : PaymentTests(host), IClassFixture<PostgresHost>;
