using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Spec §7 hosted invoice page: <c>hosted_url</c> on every invoice, the page's figures in the
/// currency's format, HTML escaping, DRAFT, and the access rule (a secret key, or the signed link;
/// anything else is the same 404 as a missing invoice). Runs on both engines.
/// </summary>
public abstract class HostedInvoicePageTests(KassaHost host)
{
    private sealed record Account(HttpClient Keyed, HttpClient Anonymous);

    private async Task<Account> NewAccountAsync() =>
        new(host.Client((await host.NewAccountAsync("Acme <Billing> & Co")).TestSecretKey), host.Client(null));

    private static async Task<(string Id, string HostedUrl)> InvoiceAsync(HttpClient c, string customer, string currency, bool finalize, params object[] lines)
    {
        var created = await c.Post("/v1/invoices", new { customer_id = customer, currency, description = "Consulting <b>March</b>" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = (string)created.Body!["id"]!;
        foreach (var line in lines) Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{id}/lines", line)).Status);
        var invoice = finalize ? await c.Post($"/v1/invoices/{id}/finalize") : await c.Get($"/v1/invoices/{id}");
        Assert.Equal(HttpStatusCode.OK, invoice.Status);
        return (id, (string)invoice.Body!["hosted_url"]!);
    }

    private static async Task<string> PageAsync(HttpClient c, string url)
    {
        var r = await c.Get(url);
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("text/html", r.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-referrer", r.Response.Headers.GetValues("Referrer-Policy").Single());
        Assert.StartsWith("default-src 'none'", r.Response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        return await r.Response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task A_finalized_invoice_page_shows_exact_figures_escapes_every_text_and_opens_through_its_signed_link()
    {
        var a = await NewAccountAsync();
        Assert.Equal(HttpStatusCode.Created, (await a.Keyed.Put("/v1/customers/cus_evil", new
        {
            name = "<script>alert(1)</script>", email = "ada@example.com",
            address = new { line1 = "1 Rue \"Royale\"", city = "Paris", postal_code = "75008", country = "FR" },
        })).Status);
        var (id, url) = await InvoiceAsync(a.Keyed, "cus_evil", "usd", finalize: true,
            new { description = "Implementation <img src=x onerror=alert(2)>", quantity = 2, unit_amount_decimal = "50000" },
            new { description = "Support", amount = 23_450 });
        Assert.Matches($"^/v1/invoices/{id}\\.html\\?token=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{{43}}$", url);

        var html = await PageAsync(a.Anonymous, url);
        Assert.Contains("<p class=\"due-amount\" id=\"amount-due\">$1,234.50</p>", html);
        Assert.Contains("<td class=\"num\" id=\"subtotal\">$1,234.50</td>", html);
        Assert.Contains("<td class=\"num\" id=\"discount\">$0.00</td>", html);
        Assert.Contains("<td class=\"num\" id=\"tax\">$0.00</td>", html);
        Assert.Contains("<td class=\"num\" id=\"total\">$1,234.50</td>", html);
        Assert.Contains("<td class=\"num\" id=\"amount-paid\">$0.00</td>", html);
        Assert.Contains("<td class=\"num\" id=\"amount-due-row\">$1,234.50</td>", html);
        Assert.Contains("<td>Implementation &lt;img src=x onerror=alert(2)&gt;</td><td class=\"period\">—</td><td class=\"num\">2</td><td class=\"num\">$500.00</td><td class=\"num\">$1,000.00</td>", html);
        Assert.Contains("<td>Support</td><td class=\"period\">—</td><td class=\"num\">1</td><td class=\"num\">$234.50</td><td class=\"num\">$234.50</td>", html);
        Assert.Contains("<strong class=\"customer-name\">&lt;script&gt;alert(1)&lt;/script&gt;</strong>", html);
        Assert.Contains("1 Rue &quot;Royale&quot;<br>\n75008 Paris<br>\nFR<br>", html);
        Assert.Contains("<p class=\"seller\">Acme &lt;Billing&gt; &amp; Co</p>", html);
        Assert.Contains("<p class=\"memo\">Consulting &lt;b&gt;March&lt;/b&gt;</p>", html);
        Assert.Contains("<dd>KAS-000001</dd>", html);
        Assert.Contains("<dd class=\"status status-open\">Open</dd>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("DRAFT", html);
        Assert.DoesNotContain("http", html);

        // With the account's key the page opens without the token, and the same bytes come back.
        Assert.Equal(html, await PageAsync(a.Keyed, $"/v1/invoices/{id}.html"));
        // The hosted_url is the same on every read of the invoice, and in lists.
        Assert.Equal(url, (string?)(await a.Keyed.Get("/v1/invoices")).Body!["data"]![0]!["hosted_url"]);
    }

    [Fact]
    public async Task A_draft_page_says_draft_and_zero_decimal_and_negative_amounts_are_formatted_for_the_currency()
    {
        var a = await NewAccountAsync();
        Assert.Equal(HttpStatusCode.Created, (await a.Keyed.Put("/v1/customers/cus_jp", new { name = "山田" })).Status);
        var (_, draftUrl) = await InvoiceAsync(a.Keyed, "cus_jp", "jpy", finalize: false,
            new { description = "Plan", amount = 200_000 }, new { description = "Goodwill", amount = -1_500 });
        var html = await PageAsync(a.Anonymous, draftUrl);
        Assert.Contains("<p class=\"draft-banner\" role=\"note\">DRAFT — not yet issued, figures may change</p>", html);
        Assert.Contains("<h1>DRAFT invoice</h1>", html);
        Assert.Contains("<dd class=\"status status-draft\">DRAFT</dd>", html);
        Assert.Contains("<dd>—</dd>", html);
        Assert.Contains("<td class=\"num\" id=\"subtotal\">¥198,500</td>", html);
        Assert.Contains("<td>Goodwill</td><td class=\"period\">—</td><td class=\"num\">1</td><td class=\"num\">-¥1,500</td><td class=\"num\">-¥1,500</td>", html);
        Assert.Contains("<strong class=\"customer-name\">山田</strong>", html);
    }

    [Fact]
    public async Task A_wrong_missing_or_borrowed_token_is_the_same_404_as_a_missing_invoice()
    {
        var a = await NewAccountAsync();
        Assert.Equal(HttpStatusCode.Created, (await a.Keyed.Put("/v1/customers/cus_1", new { name = "Ada" })).Status);
        var (id, url) = await InvoiceAsync(a.Keyed, "cus_1", "usd", finalize: true, new { description = "Plan", amount = 100 });
        var (otherId, otherUrl) = await InvoiceAsync(a.Keyed, "cus_1", "usd", finalize: true, new { description = "Plan", amount = 200 });
        var token = url[(url.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        var otherToken = otherUrl[(otherUrl.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        var (who, mac) = (token[..token.IndexOf('.', StringComparison.Ordinal)], token[(token.IndexOf('.', StringComparison.Ordinal) + 1)..]);
        var flipped = (mac[0] == 'A' ? "B" : "A") + mac[1..];
        var liveWho = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(who.Replace('-', '+').Replace('_', '/') + new string('=', (4 - who.Length % 4) % 4))).Replace(".test", ".live")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

        foreach (var path in new[]
        {
            $"/v1/invoices/{id}.html",                              // no key, no token
            $"/v1/invoices/{id}.html?token=",                       // empty
            $"/v1/invoices/{id}.html?token=garbage",                // not a token
            $"/v1/invoices/{id}.html?token=%%%.@@@",                // not base64url
            $"/v1/invoices/{id}.html?token={who}.{flipped}",        // one character of the MAC wrong
            $"/v1/invoices/{id}.html?token={liveWho}.{mac}",        // the other mode
            $"/v1/invoices/{id}.html?token={otherToken}",           // the token of another invoice
            $"/v1/invoices/{otherId}.html?token={token}",
            $"/v1/invoices/in_missing.html?token={token}",
            $"/v1/invoices/{id}.html?token={new string('a', 301)}",
        })
        {
            var r = await a.Anonymous.Get(path);
            r.AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        }
        // Another account's secret key cannot see it either (404, like every cross-tenant read); a bad key is 401.
        (await host.Client((await host.NewAccountAsync()).TestSecretKey).Get($"/v1/invoices/{id}.html"))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client("sk_test_notakeynotakeynotakey0000").Get(url)).AssertError(HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        // The token opens the page and nothing else: it is no key for the JSON API.
        (await a.Anonymous.Get($"/v1/invoices/{id}?token={token}")).AssertError(HttpStatusCode.Unauthorized, "authentication_error", "missing_api_key");
        Assert.Equal(HttpStatusCode.OK, (await a.Anonymous.Get(url)).Status);
    }
}

public sealed class HostedInvoicePageTestsSqlite(SqliteHost host) : HostedInvoicePageTests(host), IClassFixture<SqliteHost>;

public sealed class HostedInvoicePageTestsPostgres(PostgresHost host) : HostedInvoicePageTests(host), IClassFixture<PostgresHost>;
