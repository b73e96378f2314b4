using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §7 manual invoices and §9 ledger: exact figures, gap-free numbers, the posted entries and the
/// trial balance. Each test uses an account of its own, so invoice numbers start at KAS-000001. Runs on both engines.
/// </summary>
public abstract class InvoiceTests(KassaHost host)
{
    private async Task<HttpClient> NewAccountClientAsync() => host.Client((await host.NewAccountAsync()).TestSecretKey);

    private static async Task<string> NewCustomerAsync(HttpClient c)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{id}", new { name = "Ada" })).Status);
        return id;
    }

    private static async Task<string> DraftAsync(HttpClient c, string customerId, params long[] amounts)
    {
        var created = await c.Post("/v1/invoices", new { customer_id = customerId, currency = "usd" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = (string)created.Body!["id"]!;
        foreach (var amount in amounts)
            Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/lines", new { description = "Line", amount })).Status);
        return id;
    }

    private static async Task<JsonNode> TrialBalanceAsync(HttpClient c)
    {
        var tb = await c.Get("/v1/ledger/trial_balance?currency=usd");
        Assert.Equal(HttpStatusCode.OK, tb.Status);
        return tb.Body!;
    }

    private static long Balance(JsonNode tb, string code) => (long)tb["accounts"]!.AsArray().Single(a => (string?)a!["code"] == code)!["balance"]!;

    private static string Lines(JsonNode entry) =>
        string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} {(string?)l["account_name"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));

    [Fact]
    public async Task A_draft_with_two_lines_finalizes_with_exact_figures_the_next_number_and_a_balanced_ledger_entry()
    {
        var c = await NewAccountClientAsync();
        var customer = await NewCustomerAsync(c);
        var created = await c.Post("/v1/invoices", new { customer_id = customer, currency = "USD", description = "March consulting" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var draft = created.Body!;
        var id = (string)draft["id"]!;
        Assert.Matches("^in_[0-9A-Z]{26}$", id);
        Assert.Equal("invoice", (string?)draft["object"]);
        Assert.Equal("draft", (string?)draft["status"]);
        Assert.Equal("usd", (string?)draft["currency"]);
        Assert.Null(draft["number"]);
        Assert.Equal(0, (long)draft["total"]!);
        Assert.Empty(draft["lines"]!.AsArray());

        // 3 × 1250.5 = 3751.5, rounded once half away from zero to 3752.
        var one = await c.Post($"/v1/invoices/{id}/lines", new { description = "Consulting hours", quantity = 3, unit_amount_decimal = "1250.5" });
        Assert.Equal(HttpStatusCode.OK, one.Status);
        var line = one.Body!["lines"]![0]!;
        Assert.Equal("manual", (string?)line["type"]);
        Assert.Equal(3m, (decimal)line["quantity"]!);
        Assert.Equal("1250.5", (string?)line["unit_amount_decimal"]);
        Assert.Equal(3752, (long)line["amount"]!);
        Assert.Equal(3752, (long)one.Body["subtotal"]!);
        var two = await c.Post($"/v1/invoices/{id}/lines", new { description = "Setup fee", amount = 5000 });
        Assert.Equal(8752, (long)two.Body!["total"]!);
        Assert.Null(two.Body["lines"]![1]!["unit_amount_decimal"]);
        Assert.Null(two.Body["number"]);
        Assert.Empty((await c.Get($"/v1/ledger/entries?customer_id={customer}")).Body!["data"]!.AsArray());

        var finalized = await c.Post($"/v1/invoices/{id}/finalize");
        Assert.Equal(HttpStatusCode.OK, finalized.Status);
        var open = finalized.Body!;
        Assert.Equal("open", (string?)open["status"]);
        Assert.Equal("KAS-000001", (string?)open["number"]);
        Assert.Equal([8752L, 0L, 0L, 8752L, 0L, 8752L],
            new[] { "subtotal", "discount", "tax", "total", "amount_paid", "amount_due" }.Select(f => (long)open[f]!).ToArray());
        Assert.NotNull(open["finalized_at"]);
        Assert.Equal(open.ToJsonString(), (await c.Get($"/v1/invoices/{id}")).Body!.ToJsonString());

        var entries = (await c.Get($"/v1/ledger/entries?customer_id={customer}")).Body!["data"]!.AsArray();
        var entry = Assert.Single(entries)!;
        Assert.Matches("^je_[0-9A-Z]{26}$", (string)entry["id"]!);
        Assert.Equal("ledger_entry", (string?)entry["object"]);
        Assert.Equal("usd", (string?)entry["currency"]);
        Assert.Equal(customer, (string?)entry["customer_id"]);
        Assert.Equal($$"""{"type":"invoice","id":"{{id}}","action":"finalized"}""", entry["source"]!.ToJsonString());
        Assert.Equal("Invoice KAS-000001 finalized", (string?)entry["description"]);
        Assert.Equal("1200 accounts receivable DR 8752 CR 0; 4000 subscription revenue DR 0 CR 8752", Lines(entry));

        // The next invoice of the account takes the next number.
        var second = await DraftAsync(c, customer, 1999);
        var next = await c.Post($"/v1/invoices/{second}/finalize");
        Assert.Equal("KAS-000002", (string?)next.Body!["number"]);

        var tb = await TrialBalanceAsync(c);
        Assert.Equal("usd", (string?)tb["currency"]);
        Assert.Equal(10751, (long)tb["debits"]!);
        Assert.Equal(10751, (long)tb["credits"]!);
        Assert.Equal(10751, Balance(tb, "1200"));
        Assert.Equal(10751, Balance(tb, "4000"));
        Assert.Equal(0, Balance(tb, "2200"));
        Assert.Equal(11, tb["accounts"]!.AsArray().Count);
        var openInvoices = (await c.Get("/v1/invoices?status=open")).Body!["data"]!.AsArray();
        Assert.Equal(Balance(tb, "1200"), openInvoices.Sum(i => (long)i!["amount_due"]!));

        // Finalized means frozen: a second finalize and any line change are refused, nothing posts twice.
        (await c.Post($"/v1/invoices/{id}/finalize")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "Late", amount = 1 })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Delete($"/v1/invoices/{id}/lines/{(string)line["id"]!}")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(2, (await c.Get("/v1/ledger/entries")).Body!["data"]!.AsArray().Count);
        var events = (await c.Get($"/v1/events?object_id={id}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray();
        Assert.Equal(["invoice.finalized", "invoice.created"], events);
    }

    [Fact]
    public async Task Voiding_an_open_invoice_posts_the_exact_reverse_and_receivables_return_to_zero()
    {
        var c = await NewAccountClientAsync();
        var customer = await NewCustomerAsync(c);
        var id = await DraftAsync(c, customer, 2000, -500);
        var open = await c.Post($"/v1/invoices/{id}/finalize");
        Assert.Equal(1500, (long)open.Body!["amount_due"]!);

        var voided = await c.Post($"/v1/invoices/{id}/void");
        Assert.Equal(HttpStatusCode.OK, voided.Status);
        Assert.Equal("void", (string?)voided.Body!["status"]);
        Assert.Equal("KAS-000001", (string?)voided.Body["number"]);
        Assert.NotNull(voided.Body["voided_at"]);

        var entries = (await c.Get($"/v1/ledger/entries?customer_id={customer}")).Body!["data"]!.AsArray();
        Assert.Equal(2, entries.Count);
        Assert.Equal("voided", (string?)entries[0]!["source"]!["action"]);
        // The finalize entry: DR 1200 1500 / CR 4000 1500 (2000 charged, 500 credited); the void is its mirror.
        Assert.Equal("1200 accounts receivable DR 1500 CR 0; 4000 subscription revenue DR 0 CR 1500", Lines(entries[1]!));
        Assert.Equal("1200 accounts receivable DR 0 CR 1500; 4000 subscription revenue DR 1500 CR 0", Lines(entries[0]!));
        var tb = await TrialBalanceAsync(c);
        Assert.Equal(0, Balance(tb, "1200"));
        Assert.Equal(0, Balance(tb, "4000"));
        Assert.Equal(3000, (long)tb["debits"]!);
        Assert.Equal(3000, (long)tb["credits"]!);

        (await c.Post($"/v1/invoices/{id}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(2, (await c.Get("/v1/ledger/entries")).Body!["data"]!.AsArray().Count);
        Assert.Equal(["invoice.voided", "invoice.finalized", "invoice.created"],
            (await c.Get($"/v1/events?object_id={id}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray());
    }

    [Fact]
    public async Task Marking_an_open_invoice_uncollectible_reverses_its_entry_and_keeps_its_number()
    {
        var c = await NewAccountClientAsync();
        var customer = await NewCustomerAsync(c);
        var id = await DraftAsync(c, customer, 2000, -500);
        (await c.Post($"/v1/invoices/{id}/mark_uncollectible")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/finalize")).Status);

        var marked = await c.Post($"/v1/invoices/{id}/mark_uncollectible");
        Assert.Equal(HttpStatusCode.OK, marked.Status);
        Assert.Equal(("uncollectible", "KAS-000001", 1500L), ((string?)marked.Body!["status"], (string?)marked.Body["number"], (long)marked.Body["total"]!));
        var entries = (await c.Get($"/v1/ledger/entries?customer_id={customer}")).Body!["data"]!.AsArray();
        Assert.Equal("marked_uncollectible", (string?)entries[0]!["source"]!["action"]);
        Assert.Equal("1200 accounts receivable DR 0 CR 1500; 4000 subscription revenue DR 1500 CR 0", Lines(entries[0]!));
        var tb = await TrialBalanceAsync(c);
        Assert.Equal((0L, 3000L, 3000L), (Balance(tb, "1200"), (long)tb["debits"]!, (long)tb["credits"]!));

        (await c.Post($"/v1/invoices/{id}/mark_uncollectible")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/invoices/{id}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Equal(["invoice.marked_uncollectible", "invoice.finalized", "invoice.created"],
            (await c.Get($"/v1/events?object_id={id}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray());
    }

    [Fact]
    public async Task A_paid_invoice_cannot_be_voided_and_a_draft_is_voided_without_a_number_or_posting()
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var customer = await NewCustomerAsync(c);
        var paid = await DraftAsync(c, customer, 700);
        await c.Post($"/v1/invoices/{paid}/finalize");
        // Payments come later in issue 12; the test plants the status they will set.
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            return await session.Connection.ExecuteAsync("UPDATE invoices SET status = 'paid', amount_paid = 700, amount_due = 0 WHERE account_id = @a AND id = @id",
                new { a = account.AccountId, id = paid }, session.Transaction);
        });
        (await c.Post($"/v1/invoices/{paid}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        var draft = await DraftAsync(c, customer, 300);
        var voided = await c.Post($"/v1/invoices/{draft}/void");
        Assert.Equal(HttpStatusCode.OK, voided.Status);
        Assert.Equal("void", (string?)voided.Body!["status"]);
        Assert.Null(voided.Body["number"]);
        (await c.Post($"/v1/invoices/{draft}/finalize")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        Assert.Single((await c.Get("/v1/ledger/entries")).Body!["data"]!.AsArray());
        // The voided draft took no number: the next finalized invoice is KAS-000002.
        var next = await DraftAsync(c, customer, 100);
        Assert.Equal("KAS-000002", (string?)(await c.Post($"/v1/invoices/{next}/finalize")).Body!["number"]);
    }

    [Fact]
    public async Task Twenty_concurrent_finalizations_take_numbers_1_to_20_without_gap_or_duplicate()
    {
        var c = await NewAccountClientAsync();
        var customer = await NewCustomerAsync(c);
        var drafts = new List<string>();
        for (var i = 1; i <= 20; i++) drafts.Add(await DraftAsync(c, customer, i * 100));

        var results = await Task.WhenAll(drafts.Select(id => c.Post($"/v1/invoices/{id}/finalize")));
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var numbers = results.Select(r => (string)r.Body!["number"]!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(1, 20).Select(n => $"KAS-{n:D6}").ToArray(), numbers);

        var tb = await TrialBalanceAsync(c);
        Assert.Equal(21000, Balance(tb, "1200"));
        Assert.Equal(21000, (long)tb["debits"]!);
        Assert.Equal(21000, (long)tb["credits"]!);
        Assert.Equal(20, (await c.Get("/v1/ledger/entries?limit=100")).Body!["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task Lines_can_be_removed_from_a_draft_and_lists_filter_and_page()
    {
        var c = await NewAccountClientAsync();
        var ada = await NewCustomerAsync(c);
        var bob = await NewCustomerAsync(c);
        var id = await DraftAsync(c, ada, 1000, 250);
        var lines = (await c.Get($"/v1/invoices/{id}")).Body!["lines"]!.AsArray();
        var removed = await c.Delete($"/v1/invoices/{id}/lines/{(string)lines[0]!["id"]!}");
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal(250, (long)removed.Body!["total"]!);
        Assert.Single(removed.Body["lines"]!.AsArray());
        (await c.Delete($"/v1/invoices/{id}/lines/il_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");

        var bobs = await DraftAsync(c, bob, 10);
        await c.Post($"/v1/invoices/{bobs}/finalize");
        Assert.Equal([id], (await c.Get($"/v1/invoices?customer_id={ada}")).Body!["data"]!.AsArray().Select(i => (string)i!["id"]!).ToArray());
        Assert.Equal([bobs], (await c.Get("/v1/invoices?status=open")).Body!["data"]!.AsArray().Select(i => (string)i!["id"]!).ToArray());
        var first = (await c.Get("/v1/invoices?limit=1")).Body!;
        Assert.True((bool)first["has_more"]!);
        Assert.Equal(bobs, (string?)first["data"]![0]!["id"]);
        var rest = (await c.Get($"/v1/invoices?limit=1&starting_after={(string)first["next_cursor"]!}")).Body!;
        Assert.False((bool)rest["has_more"]!);
        Assert.Equal(id, (string?)rest["data"]![0]!["id"]);
    }

    [Fact]
    public async Task Hostile_input_is_refused_with_the_error_envelope()
    {
        var c = await NewAccountClientAsync();
        var customer = await NewCustomerAsync(c);
        (await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", amount = 5 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "amount");
        (await c.Post("/v1/invoices", new { customer_id = customer, currency = "xyz" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
        (await c.Post("/v1/invoices", new { customer_id = customer })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "currency");
        (await c.Post("/v1/invoices", new { customer_id = "cus_nobody", currency = "usd" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");

        var id = await DraftAsync(c, customer);
        (await c.Post($"/v1/invoices/{id}/finalize")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x", quantity = -1, unit_amount_decimal = "10" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "quantity");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x", unit_amount_decimal = "-10" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "unit_amount_decimal");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x", amount = 10, unit_amount_decimal = "10" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x", amount = 1_000_000_000_001L }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "amount");
        (await c.Post($"/v1/invoices/{id}/lines", new { amount = 1 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "description");
        (await c.Post($"/v1/invoices/{id}/lines", new { description = "x", amount = 1, colour = "red" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "colour");
        Assert.Equal(0, (long)(await c.Get($"/v1/invoices/{id}")).Body!["total"]!);

        (await c.Post("/v1/invoices/in_missing/finalize")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/invoices/in_missing")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client((await host.NewAccountAsync()).TestSecretKey).Get($"/v1/invoices/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await c.Get("/v1/invoices?status=lost")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "status");
        (await c.Get("/v1/ledger/trial_balance")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "currency");
        (await c.Get("/v1/ledger/trial_balance?currency=xyz")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "currency");
    }
}

public sealed class InvoiceTestsSqlite(SqliteHost host) : InvoiceTests(host), IClassFixture<SqliteHost>;

public sealed class InvoiceTestsPostgres(PostgresHost host) : InvoiceTests(host), IClassFixture<PostgresHost>;
