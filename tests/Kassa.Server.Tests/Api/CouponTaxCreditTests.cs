using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Common;
using Kassa.Engine.Coupons;
using Kassa.Engine.Storage;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §7 coupons, tax rates, customer credit and credit notes, and the finalize that applies them:
/// exact figures per line, exact ledger entries, and after every test the ledger self-check (debits =
/// credits; 1200 = the open invoices' amount due; 2000 = the customers' credit balances). Each test
/// uses an account of its own. Runs on both engines.
/// </summary>
public abstract class CouponTaxCreditTests(KassaHost host)
{
    private sealed record Account(HttpClient Client, string AccountId, string PublishableKey, List<string> Customers);

    private async Task<Account> NewAccountAsync()
    {
        var created = await host.NewAccountAsync();
        return new Account(host.Client(created.TestSecretKey), created.AccountId, created.TestPublishableKey, []);
    }

    private static async Task<string> NewCustomerAsync(Account a, object? address = null)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await a.Client.Put($"/v1/customers/{id}", address is null ? new { name = "Ada" } : new { name = "Ada", address })).Status);
        a.Customers.Add(id);
        return id;
    }

    private static async Task<string> DraftAsync(Account a, string customerId, string? coupon, params long[] amounts)
    {
        var created = await a.Client.Post("/v1/invoices", coupon is null ? new { customer_id = customerId, currency = "usd" } : new { customer_id = customerId, currency = "usd", coupon });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = (string)created.Body!["id"]!;
        foreach (var amount in amounts)
            Assert.Equal(HttpStatusCode.OK, (await a.Client.Post($"/v1/invoices/{id}/lines", new { description = $"Line {amount}", amount })).Status);
        return id;
    }

    private static async Task<JsonNode> FinalizeAsync(Account a, string invoiceId)
    {
        var r = await a.Client.Post($"/v1/invoices/{invoiceId}/finalize");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body!;
    }

    private static async Task<string> CouponAsync(Account a, object body)
    {
        var r = await a.Client.Post("/v1/coupons", body);
        Assert.Equal(HttpStatusCode.Created, r.Status);
        return (string)r.Body!["id"]!;
    }

    private static long[] Figures(JsonNode invoice) =>
        [.. new[] { "subtotal", "discount", "tax", "total", "amount_due" }.Select(f => (long)invoice[f]!)];

    private static long[] LineShares(JsonNode invoice, string field) => [.. invoice["lines"]!.AsArray().Select(l => (long)l![field]!)];

    /// <summary>The entries of one source, as "code DR x CR y" joined, one string per action.</summary>
    private static async Task<string> EntryAsync(Account a, string sourceId, string action)
    {
        var entries = (await a.Client.Get("/v1/ledger/entries?limit=100")).Body!["data"]!.AsArray();
        var entry = entries.Single(e => (string?)e!["source"]!["id"] == sourceId && (string?)e["source"]!["action"] == action)!;
        return string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));
    }

    private static async Task<long> CreditBalanceAsync(Account a, string customerId)
    {
        var r = await a.Client.Get($"/v1/customers/{customerId}/credit_balance");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Body!["balances"]!.AsArray().Where(b => (string?)b!["currency"] == "usd").Sum(b => (long)b!["balance"]!);
    }

    /// <summary>The ledger self-check of issue 12: balanced, receivables = open amount due, customer credit = the balances.</summary>
    private static async Task AssertLedgerHoldsAsync(Account a)
    {
        var tb = (await a.Client.Get("/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z")).Body!;
        Assert.Equal((long)tb["debits"]!, (long)tb["credits"]!);
        long Balance(string code) => (long)tb["accounts"]!.AsArray().Single(x => (string?)x!["code"] == code)!["balance"]!;
        var open = (await a.Client.Get("/v1/invoices?status=open&limit=100")).Body!["data"]!.AsArray();
        Assert.Equal(open.Sum(i => (long)i!["amount_due"]!), Balance("1200"));
        long credit = 0;
        foreach (var customer in a.Customers) credit += await CreditBalanceAsync(a, customer);
        Assert.Equal(credit, Balance("2000"));
    }

    [Fact]
    public async Task A_percentage_coupon_on_a_manual_invoice_is_rounded_once_half_away_from_zero_and_split_over_the_lines()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        var created = await a.Client.Post("/v1/coupons", new { code = "launch12", type = "percentage", value = 12.5m, duration = "once" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Matches("^cpn_[0-9A-Z]{26}$", (string)created.Body!["id"]!);
        Assert.Equal("coupon", (string?)created.Body["object"]);
        Assert.Equal("LAUNCH12", (string?)created.Body["code"]);
        Assert.Equal(0, (int)created.Body["times_redeemed"]!);

        var id = await DraftAsync(a, customer, "Launch12", 1001, 2003);
        var invoice = await FinalizeAsync(a, id);
        // 12.5 % of 3004 = 375.5 → 376 once; split 1001:2003 → 125.29 / 250.71 → 125 and 251 by largest remainder.
        Assert.Equal([3004L, 376, 0, 2628, 2628], Figures(invoice));
        Assert.Equal([125L, 251], LineShares(invoice, "discount"));
        Assert.Equal("open", (string?)invoice["status"]);
        Assert.Equal("1200 DR 2628 CR 0; 4000 DR 0 CR 3004; 4900 DR 376 CR 0", await EntryAsync(a, id, "finalized"));
        Assert.Equal(1, (int)(await a.Client.Get($"/v1/coupons/{(string)created.Body["id"]!}")).Body!["times_redeemed"]!);
        Assert.Equal(invoice.ToJsonString(), (await a.Client.Get($"/v1/invoices/{id}")).Body!.ToJsonString());
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task A_fixed_coupon_is_split_in_proportion_and_another_currency_is_refused()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        await CouponAsync(a, new { code = "FIVE", type = "fixed", value = 500, currency = "usd", duration = "forever" });
        await CouponAsync(a, new { code = "EURO", type = "fixed", value = 500, currency = "eur", duration = "once" });
        var id = await DraftAsync(a, customer, "FIVE", 300, 900);
        var invoice = await FinalizeAsync(a, id);
        Assert.Equal([1200L, 500, 0, 700, 700], Figures(invoice));
        Assert.Equal([125L, 375], LineShares(invoice, "discount"));
        Assert.Equal("1200 DR 700 CR 0; 4000 DR 0 CR 1200; 4900 DR 500 CR 0", await EntryAsync(a, id, "finalized"));

        // A fixed coupon larger than the invoice takes at most what is charged.
        var small = await FinalizeAsync(a, await DraftAsync(a, customer, "FIVE", 120));
        Assert.Equal([120L, 120, 0, 0, 0], Figures(small));
        Assert.Equal("paid", (string?)small["status"]);

        (await a.Client.Post("/v1/invoices", new { customer_id = customer, currency = "usd", coupon = "EURO" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "coupon");
        (await a.Client.Post("/v1/invoices", new { customer_id = customer, currency = "usd", coupon = "NOPE" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "coupon");
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task A_product_restricted_coupon_discounts_only_that_products_lines_and_validate_says_why_a_code_does_not_apply()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        await CouponAsync(a, new { code = "PROHALF", type = "percentage", value = 50, duration = "forever", product_ids = new[] { "pro" } });
        var id = await DraftAsync(a, customer, "PROHALF", 1000);
        // A subscription's line names its product; plant one next to the manual line.
        await host.Store.WriteAsync(async s =>
        {
            await s.Invoices.InsertLineAsync(new InvoiceLineRecord(a.AccountId, false, id, Wire.NewId("il"), "recurring", "Pro monthly",
                1_000_000, 2999, 2999, host.Clock.GetUtcNow(), ProductId: "pro"));
            return true;
        });
        var invoice = await FinalizeAsync(a, id);
        // Only the Pro line is eligible: 50 % of 2999 = 1499.5 → 1500.
        Assert.Equal([3999L, 1500, 0, 2499, 2499], Figures(invoice));
        Assert.Equal([0L, 1500], LineShares(invoice, "discount"));
        Assert.Equal(["manual", "recurring"], invoice["lines"]!.AsArray().Select(l => (string)l!["type"]!).ToArray());

        var pk = host.Client(a.PublishableKey);
        var ok = await pk.Post("/v1/coupons/validate", new { code = "prohalf", product_id = "pro", amount = 2999 });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.True((bool)ok.Body!["valid"]!);
        Assert.Equal(1500, (long)ok.Body["discount_amount"]!);
        Assert.Equal(1499, (long)ok.Body["final_amount"]!);
        Assert.Null(ok.Body["reason"]);

        async Task Refused(string code, string product, string reason)
        {
            var r = await pk.Post("/v1/coupons/validate", new { code, product_id = product, amount = 1000 });
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.False((bool)r.Body!["valid"]!);
            Assert.Equal(0, (long)r.Body["discount_amount"]!);
            Assert.Equal(1000, (long)r.Body["final_amount"]!);
            Assert.Equal(reason, (string?)r.Body["reason"]);
        }
        await Refused("PROHALF", "basic", "not_applicable_to_product");
        await Refused("UNKNOWN", "pro", "not_found");

        await CouponAsync(a, new { code = "ONEUSE", type = "percentage", value = 10, duration = "once", max_redemptions = 1 });
        await DraftAsync(a, customer, "ONEUSE");
        await Refused("ONEUSE", "pro", "max_redemptions_reached");
        (await a.Client.Post("/v1/invoices", new { customer_id = customer, currency = "usd", coupon = "ONEUSE" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "coupon");

        var archived = await CouponAsync(a, new { code = "OLD", type = "percentage", value = 10, duration = "once" });
        var archive = await a.Client.Post($"/v1/coupons/{archived}/archive");
        Assert.Equal(HttpStatusCode.OK, archive.Status);
        Assert.True((bool)archive.Body!["archived"]!);
        await Refused("OLD", "pro", "archived");

        await CouponAsync(a, new { code = "SOON", type = "percentage", value = 10, duration = "once", expires_at = host.Clock.GetUtcNow().AddMinutes(5) });
        host.Clock.Advance(TimeSpan.FromMinutes(6));
        await Refused("SOON", "pro", "expired");
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task Ten_concurrent_redemptions_of_a_coupon_with_max_three_redeem_exactly_three()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        var couponId = await CouponAsync(a, new { code = "FIRST3", type = "percentage", value = 20, duration = "once", max_redemptions = 3 });
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            a.Client.Post("/v1/invoices", new { customer_id = customer, currency = "usd", coupon = "FIRST3" })));
        Assert.Equal(3, results.Count(r => r.Status == HttpStatusCode.Created));
        foreach (var refused in results.Where(r => r.Status != HttpStatusCode.Created))
            refused.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "coupon");
        Assert.Equal(3, (int)(await a.Client.Get($"/v1/coupons/{couponId}")).Body!["times_redeemed"]!);

        // RedeemCoupon (used at subscribe) counts under the same lock and links the subscription.
        var tenant = new Tenant(a.AccountId, false);
        var other = await CouponAsync(a, new { code = "SUB3", type = "percentage", value = 10, duration = "repeating", duration_in_cycles = 2, max_redemptions = 3 });
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => host.Store.WriteAsync(s =>
            RedeemCoupon.Execute(s, new OperationContext(tenant, Actor.System, $"req_test{i}", host.Clock.GetUtcNow()), "sub3", customer, "pro", "usd", $"sub_test{i}"),
            commitIf: r => r.IsOk)));
        Assert.Equal(3, outcomes.Count(o => o.IsOk));
        Assert.Equal(3, (int)(await a.Client.Get($"/v1/coupons/{other}")).Body!["times_redeemed"]!);
        Assert.Equal(7, outcomes.Count(o => !o.IsOk && o.Error!.Param == "coupon"));
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task A_repeating_coupon_discounts_its_subscriptions_invoices_for_its_cycles_only()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        await CouponAsync(a, new { code = "TWICE", type = "percentage", value = 10, duration = "repeating", duration_in_cycles = 2 });
        var tenant = new Tenant(a.AccountId, false);
        var subscription = Wire.NewId("sub");
        var redeemed = await host.Store.WriteAsync(s =>
            RedeemCoupon.Execute(s, new OperationContext(tenant, Actor.System, "req_sub", host.Clock.GetUtcNow()), "TWICE", customer, "pro", "usd", subscription));
        Assert.True(redeemed.IsOk);

        var discounts = new List<long>();
        for (var cycle = 0; cycle < 3; cycle++)
        {
            var id = Wire.NewId("in");
            var now = host.Clock.GetUtcNow();
            await host.Store.WriteAsync(async s =>
            {
                await s.Invoices.InsertAsync(new InvoiceRecord(a.AccountId, false, id, customer, subscription, null, "draft", "usd", null, null, null,
                    0, 0, 0, 0, 0, 0, now, null, null, BillingReason: "subscription_cycle"));
                await s.Invoices.InsertLineAsync(new InvoiceLineRecord(a.AccountId, false, id, Wire.NewId("il"), "recurring", "Pro", 1_000_000, 2000, 2000, now,
                    ProductId: "pro"));
                return true;
            });
            discounts.Add((long)(await FinalizeAsync(a, id))["discount"]!);
        }
        Assert.Equal([200L, 200, 0], discounts);
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task Exclusive_tax_by_state_and_inclusive_tax_by_country_give_exact_tax_and_totals()
    {
        var a = await NewAccountAsync();
        var country = await a.Client.Post("/v1/tax_rates", new { name = "US federal", country = "us", percentage = 5, inclusive = false });
        Assert.Equal(HttpStatusCode.Created, country.Status);
        Assert.Matches("^txr_[0-9A-Z]{26}$", (string)country.Body!["id"]!);
        Assert.Equal("US", (string?)country.Body["country"]);
        var texas = await a.Client.Post("/v1/tax_rates", new { name = "Texas sales tax", country = "US", state = "TX", percentage = 8.25m, inclusive = false });
        Assert.Equal(8.25m, (decimal)texas.Body!["percentage"]!);
        var vat = await a.Client.Post("/v1/tax_rates", new { name = "UK VAT", country = "GB", percentage = 20, inclusive = true });
        Assert.Equal(HttpStatusCode.Created, vat.Status);

        var tx = await NewCustomerAsync(a, new { line1 = "1 Main St", city = "Austin", state = "TX", postal_code = "78701", country = "US" });
        var txInvoice = await DraftAsync(a, tx, null, 1999, 1001);
        var exclusive = await FinalizeAsync(a, txInvoice);
        // The state's rate beats the country's: 8.25 % of 1999 = 164.9175 → 165, of 1001 = 82.5825 → 83.
        Assert.Equal([3000L, 0, 248, 3248, 3248], Figures(exclusive));
        Assert.Equal([165L, 83], LineShares(exclusive, "tax"));
        Assert.Equal("1200 DR 3248 CR 0; 2200 DR 0 CR 248; 4000 DR 0 CR 3000", await EntryAsync(a, txInvoice, "finalized"));

        var ny = await NewCustomerAsync(a, new { state = "NY", country = "US" });
        Assert.Equal(new long[] { 1000, 0, 50, 1050, 1050 }, Figures(await FinalizeAsync(a, await DraftAsync(a, ny, null, 1000))));

        var uk = await NewCustomerAsync(a, new { city = "London", country = "GB" });
        var ukInvoice = await DraftAsync(a, uk, null, 1200, 999);
        var inclusive = await FinalizeAsync(a, ukInvoice);
        // Inclusive 20 %: 1200 × 20/120 = 200; 999 × 20/120 = 166.5 → 167. The total is what the lines say.
        Assert.Equal([2199L, 0, 367, 2199, 2199], Figures(inclusive));
        Assert.Equal([200L, 167], LineShares(inclusive, "tax"));
        Assert.Equal("1200 DR 2199 CR 0; 2200 DR 0 CR 367; 4000 DR 0 CR 1832", await EntryAsync(a, ukInvoice, "finalized"));

        // No address, or an archived rate: no tax.
        var nowhere = await NewCustomerAsync(a);
        Assert.Equal(new long[] { 700, 0, 0, 700, 700 }, Figures(await FinalizeAsync(a, await DraftAsync(a, nowhere, null, 700))));
        Assert.Equal(HttpStatusCode.OK, (await a.Client.Post($"/v1/tax_rates/{(string)vat.Body!["id"]!}/archive")).Status);
        Assert.Equal(new long[] { 700, 0, 0, 700, 700 }, Figures(await FinalizeAsync(a, await DraftAsync(a, uk, null, 700))));
        var listed = (await a.Client.Get("/v1/tax_rates?limit=2")).Body!;
        Assert.True((bool)listed["has_more"]!);
        Assert.Equal((string)vat.Body!["id"]!, (string?)listed["data"]![0]!["id"]);
        Assert.True((bool)(await a.Client.Get($"/v1/tax_rates/{(string)vat.Body!["id"]!}")).Body!["archived"]!);
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task Customer_credit_is_applied_fully_then_partially_and_a_negative_invoice_becomes_credit()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        var granted = await a.Client.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = 1000, currency = "usd", description = "Goodwill" });
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal("customer_credit_balance", (string?)granted.Body!["object"]);
        Assert.Equal("""[{"currency":"usd","balance":1000}]""", granted.Body["balances"]!.ToJsonString());
        var grant = granted.Body["transactions"]![0]!;
        Assert.Equal("adjustment", (string?)grant["type"]);
        Assert.Equal(1000, (long)grant["amount"]!);
        Assert.Equal("2000 DR 0 CR 1000; 4950 DR 1000 CR 0", await EntryAsync(a, (string)grant["id"]!, "adjusted"));

        // 600 due, 1000 of credit: paid at finalize, 400 left.
        var full = await DraftAsync(a, customer, null, 600);
        var paid = await FinalizeAsync(a, full);
        Assert.Equal("paid", (string?)paid["status"]);
        Assert.NotNull(paid["paid_at"]);
        Assert.Equal([600L, 0, 0, 600, 0], Figures(paid));
        Assert.Equal("1200 DR 0 CR 600; 2000 DR 600 CR 0", await EntryAsync(a, full, "credit_applied"));
        Assert.Equal(400, await CreditBalanceAsync(a, customer));
        var events = (await a.Client.Get($"/v1/events?object_id={full}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray();
        // Finalized and paid in one transaction at one instant: both events, in either order.
        Assert.Equal(["invoice.created", "invoice.finalized", "invoice.paid"], events.Order(StringComparer.Ordinal).ToArray());

        // 1500 due, 400 of credit: 1100 left to pay, the invoice stays open.
        var part = await DraftAsync(a, customer, null, 1500);
        var open = await FinalizeAsync(a, part);
        Assert.Equal("open", (string?)open["status"]);
        Assert.Equal([1500L, 0, 0, 1500, 1100], Figures(open));
        Assert.Equal(0, await CreditBalanceAsync(a, customer));

        (await a.Client.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = -1, currency = "usd", description = "Too much" }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        // Credits beyond the charges: the negative total is owed to the customer.
        var negative = await DraftAsync(a, customer, null, 500, -800);
        var credited = await FinalizeAsync(a, negative);
        Assert.Equal([-300L, 0, 0, -300, 0], Figures(credited));
        Assert.Equal("paid", (string?)credited["status"]);
        Assert.Equal("2000 DR 0 CR 300; 4000 DR 300 CR 0", await EntryAsync(a, negative, "finalized"));
        Assert.Equal(300, await CreditBalanceAsync(a, customer));

        // Ten negative invoices of a customer without a balance row: every credit counts.
        var other = await NewCustomerAsync(a);
        var drafts = new List<string>();
        for (var i = 0; i < 10; i++) drafts.Add(await DraftAsync(a, other, null, 100, -200));
        var finalized = await Task.WhenAll(drafts.Select(d => a.Client.Post($"/v1/invoices/{d}/finalize")));
        Assert.All(finalized, f => Assert.Equal(HttpStatusCode.OK, f.Status));
        Assert.Equal(1000, await CreditBalanceAsync(a, other));

        var removed = await a.Client.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = -100, currency = "usd", description = "Correction" });
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal(200, await CreditBalanceAsync(a, customer));
        Assert.Equal("2000 DR 100 CR 0; 4950 DR 0 CR 100", await EntryAsync(a, (string)removed.Body!["transactions"]![0]!["id"]!, "adjusted"));
        Assert.Equal(["adjustment", "invoice_negative_total", "applied_to_invoice", "applied_to_invoice", "adjustment"],
            removed.Body["transactions"]!.AsArray().Select(t => (string)t!["type"]!).ToArray());
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task A_credit_note_on_an_open_invoice_lowers_what_is_due_and_its_void_restores_it()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        var id = await DraftAsync(a, customer, null, 3000, 2000);
        await FinalizeAsync(a, id);

        var created = await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 1200, reason = "Service outage", refund = "credit" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var note = created.Body!;
        var noteId = (string)note["id"]!;
        Assert.Matches("^cn_[0-9A-Z]{26}$", noteId);
        Assert.Equal("open_invoice", (string?)note["kind"]);
        Assert.Equal("issued", (string?)note["status"]);
        Assert.Equal(3800, (long)(await a.Client.Get($"/v1/invoices/{id}")).Body!["amount_due"]!);
        Assert.Equal("1200 DR 0 CR 1200; 4950 DR 1200 CR 0", await EntryAsync(a, noteId, "issued"));
        await AssertLedgerHoldsAsync(a);

        (await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 3801, reason = "x", refund = "credit" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        var lines = (await a.Client.Get($"/v1/invoices/{id}")).Body!["lines"]!.AsArray();
        var byLine = await a.Client.Post("/v1/credit_notes", new
        {
            invoice_id = id, reason = "Returned item", refund = "credit",
            lines = new[] { new { line_id = (string)lines[0]!["id"]!, amount = 500 }, new { line_id = (string)lines[1]!["id"]!, amount = 300 } },
        });
        Assert.Equal(HttpStatusCode.Created, byLine.Status);
        Assert.Equal(800, (long)byLine.Body!["amount"]!);
        Assert.Equal(3000, (long)(await a.Client.Get($"/v1/invoices/{id}")).Body!["amount_due"]!);
        (await a.Client.Post("/v1/credit_notes", new { invoice_id = id, reason = "x", refund = "credit", lines = new[] { new { line_id = (string)lines[1]!["id"]!, amount = 2001 } } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "lines");

        var voided = await a.Client.Post($"/v1/credit_notes/{noteId}/void");
        Assert.Equal(HttpStatusCode.OK, voided.Status);
        Assert.Equal("void", (string?)voided.Body!["status"]);
        Assert.Equal(4200, (long)(await a.Client.Get($"/v1/invoices/{id}")).Body!["amount_due"]!);
        Assert.Equal("1200 DR 1200 CR 0; 4950 DR 0 CR 1200", await EntryAsync(a, noteId, "voided"));
        (await a.Client.Post($"/v1/credit_notes/{noteId}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        var listed = (await a.Client.Get($"/v1/credit_notes?invoice_id={id}")).Body!["data"]!.AsArray();
        Assert.Equal([(string)byLine.Body["id"]!, noteId], listed.Select(n => (string)n!["id"]!).ToArray());
        var events = (await a.Client.Get($"/v1/events?object_id={noteId}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray();
        Assert.Equal(["credit_note.voided", "credit_note.created"], events);

        // Crediting all that is left settles the invoice; the note's credit is then used and cannot be voided.
        var rest = await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 4200, reason = "Waived", refund = "credit" });
        Assert.Equal(HttpStatusCode.Created, rest.Status);
        var settled = (await a.Client.Get($"/v1/invoices/{id}")).Body!;
        Assert.Equal("paid", (string?)settled["status"]);
        Assert.Equal(0, (long)settled["amount_due"]!);
        (await a.Client.Post($"/v1/credit_notes/{(string)rest.Body!["id"]!}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task A_credit_note_on_a_paid_invoice_becomes_customer_credit_and_cannot_be_voided_once_spent()
    {
        var a = await NewAccountAsync();
        var customer = await NewCustomerAsync(a);
        Assert.Equal(HttpStatusCode.OK, (await a.Client.Post($"/v1/customers/{customer}/credit_balance/adjustments",
            new { amount = 2000, currency = "usd", description = "Prepaid" })).Status);
        var id = await DraftAsync(a, customer, null, 2000);
        Assert.Equal("paid", (string?)(await FinalizeAsync(a, id))["status"]);
        Assert.Equal(0, await CreditBalanceAsync(a, customer));

        var created = await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 700, reason = "Partial refund", refund = "credit" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var noteId = (string)created.Body!["id"]!;
        Assert.Equal("customer_credit", (string?)created.Body["kind"]);
        Assert.Equal(700, await CreditBalanceAsync(a, customer));
        Assert.Equal("2000 DR 0 CR 700; 4950 DR 700 CR 0", await EntryAsync(a, noteId, "issued"));
        (await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 1301, reason = "Too much", refund = "credit" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        // No payment was made (the invoice was paid by credit): nothing to refund to, and nothing is written.
        (await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 100, reason = "Refund", refund = "payment" }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        var voided = await a.Client.Post($"/v1/credit_notes/{noteId}/void");
        Assert.Equal(HttpStatusCode.OK, voided.Status);
        Assert.Equal(0, await CreditBalanceAsync(a, customer));
        Assert.Equal("2000 DR 700 CR 0; 4950 DR 0 CR 700", await EntryAsync(a, noteId, "voided"));
        await AssertLedgerHoldsAsync(a);

        var second = (string)(await a.Client.Post("/v1/credit_notes", new { invoice_id = id, amount = 500, reason = "Again", refund = "credit" })).Body!["id"]!;
        Assert.Equal(500, await CreditBalanceAsync(a, customer));
        var spends = await FinalizeAsync(a, await DraftAsync(a, customer, null, 300));
        Assert.Equal(0, (long)spends["amount_due"]!);
        Assert.Equal(200, await CreditBalanceAsync(a, customer));
        (await a.Client.Post($"/v1/credit_notes/{second}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(200, await CreditBalanceAsync(a, customer));
        Assert.Equal(new[] { second }, (await a.Client.Get($"/v1/credit_notes?customer_id={customer}&limit=1")).Body!["data"]!.AsArray().Select(n => (string)n!["id"]!).ToArray());

        // Ten paid invoices of a customer who never had credit (paid by card, planted here as the payments
        // work would leave them), credited at once: every note counts, since the balance row is created
        // before it is locked and no first write overwrites another.
        var carded = await NewCustomerAsync(a);
        var paidIds = Enumerable.Range(0, 10).Select(_ => Wire.NewId("in")).ToList();
        var now = host.Clock.GetUtcNow();
        await host.Store.WriteAsync(async s =>
        {
            foreach (var paidId in paidIds)
                await s.Invoices.InsertAsync(new InvoiceRecord(a.AccountId, false, paidId, carded, null, null, "paid", "usd", null, null, null,
                    100, 0, 0, 100, 100, 0, now, now, null, PaidAt: now));
            return true;
        });
        var notes = await Task.WhenAll(paidIds.Select(p => a.Client.Post("/v1/credit_notes", new { invoice_id = p, amount = 100, reason = "Refund", refund = "credit" })));
        Assert.All(notes, n => Assert.Equal(HttpStatusCode.Created, n.Status));
        Assert.Equal(1000, await CreditBalanceAsync(a, carded));

        // The same at the level of the credit book, with the transactions held open so they overlap for certain.
        var fresh = Wire.NewId("cus");
        var tenant = new Tenant(a.AccountId, false);
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => host.Store.WriteAsync(async s =>
        {
            var op = new OperationContext(tenant, Actor.System, $"req_book{i}", host.Clock.GetUtcNow());
            var change = await Kassa.Engine.CustomerCredit.CustomerCreditBook.ChangeAsync(s, op, fresh, "eur", 100, "adjustment", "overlap");
            await Task.Delay(300);
            return change;
        })));
        Assert.Equal(500, await host.Store.ReadAsync(async s => (await s.CustomerCredit.GetAsync(tenant, fresh, "eur"))!.Balance));
        await AssertLedgerHoldsAsync(a);
    }

    [Fact]
    public async Task Hostile_input_on_coupons_tax_rates_credit_notes_and_credit_balances_is_refused_with_the_error_envelope()
    {
        var a = await NewAccountAsync();
        var c = a.Client;
        var customer = await NewCustomerAsync(a);
        const HttpStatusCode bad = HttpStatusCode.BadRequest;
        const string ire = "invalid_request_error";
        (await c.Post("/v1/coupons", new { code = "X", type = "bogus", value = 1, duration = "once" })).AssertError(bad, ire, "validation_failed", "type");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 150, duration = "once" })).AssertError(bad, ire, "validation_failed", "value");
        (await c.Post("/v1/coupons", new { code = "X", type = "fixed", value = 100, duration = "once" })).AssertError(bad, ire, "validation_failed", "currency");
        (await c.Post("/v1/coupons", new { code = "X", type = "fixed", value = 10.5m, currency = "usd", duration = "once" })).AssertError(bad, ire, "validation_failed", "value");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 10, duration = "repeating" })).AssertError(bad, ire, "validation_failed", "duration_in_cycles");
        (await c.Post("/v1/coupons", new { code = "has space", type = "percentage", value = 10, duration = "once" })).AssertError(bad, ire, "validation_failed", "code");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 10, duration = "once", max_redemptions = 0 })).AssertError(bad, ire, "validation_failed", "max_redemptions");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 10, duration = "once", product_ids = new[] { "Not A Slug" } })).AssertError(bad, ire, "validation_failed", "product_ids");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 10, duration = "once", expires_at = "2001-01-01T00:00:00Z" })).AssertError(bad, ire, "validation_failed", "expires_at");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = 10, duration = "once", colour = "red" })).AssertError(bad, ire, "unknown_field", "colour");
        (await c.Post("/v1/coupons", new { type = "percentage", value = 10, duration = "once" })).AssertError(bad, ire, "parameter_missing", "code");
        (await c.Post("/v1/coupons", new { code = "X", type = "percentage", value = "ten", duration = "once" })).AssertError(bad, ire, "validation_failed", "value");
        await CouponAsync(a, new { code = "DUP", type = "percentage", value = 10, duration = "once" });
        (await c.Post("/v1/coupons", new { code = "dup", type = "percentage", value = 10, duration = "once" })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists", "code");
        (await c.Get("/v1/coupons/cpn_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Post("/v1/coupons/cpn_missing/archive")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/coupons?limit=0")).AssertError(bad, ire, "validation_failed", "limit");
        (await c.Post("/v1/coupons/validate", new { code = "DUP", amount = 10 })).AssertError(bad, ire, "parameter_missing", "product_id");
        (await c.Post("/v1/coupons/validate", new { code = "DUP", product_id = "pro", amount = -1 })).AssertError(bad, ire, "validation_failed", "amount");
        (await c.Send(HttpMethod.Post, "/v1/coupons/validate", rawBody: "{")).AssertError(bad, ire, "malformed_json");
        (await host.Client(a.PublishableKey).Post("/v1/coupons", new { code = "PK", type = "percentage", value = 10, duration = "once" }))
            .AssertError(HttpStatusCode.Forbidden, "permission_error", "key_not_allowed");
        (await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", coupon = "bad code!" })).AssertError(bad, ire, "validation_failed", "coupon");

        (await c.Post("/v1/tax_rates", new { name = "T", country = "USA", percentage = 5, inclusive = false })).AssertError(bad, ire, "validation_failed", "country");
        (await c.Post("/v1/tax_rates", new { name = "T", country = "US", percentage = 101, inclusive = false })).AssertError(bad, ire, "validation_failed", "percentage");
        (await c.Post("/v1/tax_rates", new { name = "T", country = "US", percentage = 5 })).AssertError(bad, ire, "parameter_missing", "inclusive");
        (await c.Post("/v1/tax_rates", new { name = "", country = "US", percentage = 5, inclusive = true })).AssertError(bad, ire, "validation_failed", "name");
        (await c.Get("/v1/tax_rates/txr_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Post("/v1/tax_rates/txr_missing/archive")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");

        var draft = await DraftAsync(a, customer, null, 100);
        (await c.Post("/v1/credit_notes", new { amount = 1, reason = "x", refund = "credit" })).AssertError(bad, ire, "parameter_missing", "invoice_id");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, reason = "x", refund = "credit" })).AssertError(bad, ire, "parameter_missing", "amount");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, amount = 1, reason = "x", refund = "cash" })).AssertError(bad, ire, "validation_failed", "refund");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, amount = 0, reason = "x", refund = "credit" })).AssertError(bad, ire, "validation_failed", "amount");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, amount = 1, reason = "x", refund = "credit", lines = new[] { new { line_id = "il_x", amount = 1 } } }))
            .AssertError(bad, ire, "validation_failed", "amount");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, reason = "x", refund = "credit", lines = new[] { new { line_id = "il_x", amount = 1 } } }))
            .AssertError(bad, ire, "validation_failed", "lines");
        (await c.Post("/v1/credit_notes", new { invoice_id = draft, amount = 1, reason = "x", refund = "credit" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post("/v1/credit_notes", new { invoice_id = "in_missing", amount = 1, reason = "x", refund = "credit" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/credit_notes/cn_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Post("/v1/credit_notes/cn_missing/void")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/credit_notes?starting_after=nonsense")).AssertError(bad, ire, "validation_failed", "starting_after");

        (await c.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = 0, currency = "usd", description = "x" })).AssertError(bad, ire, "validation_failed", "amount");
        (await c.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = 1, currency = "xyz", description = "x" })).AssertError(bad, ire, "validation_failed", "currency");
        (await c.Post($"/v1/customers/{customer}/credit_balance/adjustments", new { amount = 1, currency = "usd" })).AssertError(bad, ire, "parameter_missing", "description");
        (await c.Post("/v1/customers/nobody/credit_balance/adjustments", new { amount = 1, currency = "usd", description = "x" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/customers/nobody/credit_balance")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var empty = (await c.Get($"/v1/customers/{customer}/credit_balance")).Body!;
        Assert.Empty(empty["balances"]!.AsArray());
        Assert.Empty(empty["transactions"]!.AsArray());
        await AssertLedgerHoldsAsync(a);
    }
}

public sealed class CouponTaxCreditTestsSqlite(SqliteHost host) : CouponTaxCreditTests(host), IClassFixture<SqliteHost>;

public sealed class CouponTaxCreditTestsPostgres(PostgresHost host) : CouponTaxCreditTests(host), IClassFixture<PostgresHost>;
