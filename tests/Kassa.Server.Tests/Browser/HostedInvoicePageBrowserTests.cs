using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Cli;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Kassa.Server.Tests.Browser;

/// <summary>
/// The hosted invoice page in a real browser (Debian's Chromium driven by Playwright, never a
/// downloaded one): opened through its signed link with no API key, from a real <c>kassa serve</c> on
/// loopback. Checks the visible figures, that nothing is fetched from anywhere else, that it prints to
/// PDF, and saves screenshots and the PDFs under <c>tests/artifacts/</c> for a person to look at.
/// Without Chromium the test is skipped locally and fails under <c>CI=true</c> (.ci/run installs it).
/// </summary>
public sealed class HostedInvoicePageBrowserTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-browser-tests");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_finalized_invoice_opens_from_its_hosted_url_shows_its_figures_loads_nothing_else_and_prints_to_pdf()
    {
        Chromium.Require();
        await using var server = await ServerProcess.StartAsync(_temp.SqliteDb, new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey });
        using var api = new HttpClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        await Chromium.Send(api, HttpMethod.Put, server.Url + "/v1/customers/ada", """
            {"name":"Ada Lovelace <script>alert(1)</script>","email":"ada@example.com",
             "address":{"line1":"12 St James's Square","city":"London","postal_code":"SW1Y 4JH","country":"GB"}}
            """);
        var id = (string)(await Chromium.Send(api, HttpMethod.Post, server.Url + "/v1/invoices", """{"customer_id":"ada","currency":"usd","description":"Analytical Engine consulting, March"}"""))["id"]!;
        await Chromium.Send(api, HttpMethod.Post, $"{server.Url}/v1/invoices/{id}/lines", """{"description":"Engine design review","quantity":3,"unit_amount_decimal":"30000"}""");
        await Chromium.Send(api, HttpMethod.Post, $"{server.Url}/v1/invoices/{id}/lines", """{"description":"Punched-card programme (Bernoulli numbers)","quantity":1.5,"unit_amount_decimal":"19633.3333"}""");
        await Chromium.Send(api, HttpMethod.Post, $"{server.Url}/v1/invoices/{id}/lines", """{"description":"Travel","amount":4000}""");
        var invoice = await Chromium.Send(api, HttpMethod.Post, $"{server.Url}/v1/invoices/{id}/finalize");
        Assert.Equal(123_450, (long)invoice["total"]!);
        var hostedUrl = server.Url + (string)invoice["hosted_url"]!;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        // A fresh context without the API key: the signed link alone must open the page.
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1000, Height = 1200 } });
        var page = await context.NewPageAsync();
        var requested = new List<string>();
        page.Request += (_, r) => { lock (requested) requested.Add(r.Url); };
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") lock (consoleErrors) consoleErrors.Add(m.Text); };

        var response = await page.GotoAsync(hostedUrl, new() { WaitUntil = WaitUntilState.NetworkIdle });
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.Equal("Invoice KAS-000001 — Default account", await page.TitleAsync());
        Assert.Equal("$1,234.50", await page.Locator("#amount-due").InnerTextAsync());
        Assert.Equal("$1,234.50", await page.Locator("#total").InnerTextAsync());
        Assert.Equal("$1,234.50", await page.Locator("#subtotal").InnerTextAsync());
        Assert.Equal("$0.00", await page.Locator("#amount-paid").InnerTextAsync());
        Assert.Equal(3, await page.Locator("table.lines tbody tr").CountAsync());
        Assert.Equal("$294.50", await page.Locator("table.lines tbody tr:nth-child(2) td:nth-child(5)").InnerTextAsync());
        Assert.Equal("$196.333333", await page.Locator("table.lines tbody tr:nth-child(2) td:nth-child(4)").InnerTextAsync());
        // The hostile name is visible text, and no script element exists on the page.
        Assert.Equal("Ada Lovelace <script>alert(1)</script>", await page.Locator(".customer-name").InnerTextAsync());
        Assert.Equal(0, await page.Locator("script").CountAsync());
        Assert.Equal(0, await page.Locator("text=DRAFT").CountAsync());

        // Nothing left the server: one request, the page itself, on loopback.
        lock (requested) Assert.All(requested, url => Assert.StartsWith(server.Url + "/", url, StringComparison.Ordinal));
        lock (requested) Assert.Single(requested);
        lock (consoleErrors) Assert.Empty(consoleErrors);

        var artifacts = Chromium.ArtifactsFolder();
        await page.ScreenshotAsync(new() { Path = Path.Combine(artifacts, "hosted-invoice.png"), FullPage = true });
        foreach (var format in new[] { "A4", "Letter" })
        {
            var pdf = await page.PdfAsync(new() { Format = format, PrintBackground = true });
            Assert.True(pdf.Length > 1000, $"{format} PDF is {pdf.Length} bytes");
            Assert.Equal("%PDF-", Encoding.ASCII.GetString(pdf, 0, 5));
            // One invoice of three lines fits one page on either paper size.
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(Encoding.Latin1.GetString(pdf), @"/Type\s*/Page[^s]"));
            await File.WriteAllBytesAsync(Path.Combine(artifacts, $"hosted-invoice-{format.ToLowerInvariant()}.pdf"), pdf);
        }
        await page.EmulateMediaAsync(new() { Media = Media.Print });
        await page.ScreenshotAsync(new() { Path = Path.Combine(artifacts, "hosted-invoice-print.png"), FullPage = true });

        // A tampered link is the API's 404 in the browser too.
        var tampered = await page.GotoAsync(hostedUrl[..^2] + "xx");
        Assert.Equal(404, tampered!.Status);
    }
}
