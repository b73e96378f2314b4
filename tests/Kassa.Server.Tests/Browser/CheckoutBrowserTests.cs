using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deque.AxeCore.Playwright;
using Kassa.Server.Tests.Cli;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Kassa.Server.Tests.Browser;

/// <summary>
/// A person pays through the hosted checkout in a real browser (Debian's Chromium driven by Playwright,
/// never a downloaded one), against a real <c>kassa serve</c> on SQLite: subscribing with 4242…, with the
/// 3-D Secure card (cancel, try again, confirm), with a declined card then a good one, and with the keyboard
/// only (Tab, typing, Enter). Every page is scanned with axe-core (no serious or critical violation) and
/// saved as a screenshot under <c>tests/artifacts/</c>. Without Chromium the tests skip locally and fail
/// under <c>CI=true</c>, like the hosted invoice's browser test.
/// </summary>
public sealed class CheckoutBrowserTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-checkout-browser");

    public void Dispose() => _temp.Dispose();

    /// <summary>A running server, an API client, a paid monthly product ($20.00) and a browser.</summary>
    private sealed class World : IAsyncDisposable
    {
        public required ServerProcess Server { get; init; }
        public required HttpClient Api { get; init; }
        public required IPlaywright Playwright { get; init; }
        public required IBrowser Browser { get; init; }
        public required string Product { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            Playwright.Dispose();
            Api.Dispose();
            await Server.DisposeAsync();
        }

        /// <summary>Subscribes a new customer without a card: the answer's checkout_url, made absolute.</summary>
        public async Task<(string Customer, string Subscription, string Url)> SubscribeAsync(string name)
        {
            var customer = "cus_" + Guid.NewGuid().ToString("N")[..12];
            await Chromium.Send(Api, HttpMethod.Put, $"{Server.Url}/v1/customers/{customer}", $$"""{"name":"{{name}}","email":"ada@example.com"}""");
            var r = await Chromium.Send(Api, HttpMethod.Post, $"{Server.Url}/v1/subscribe",
                $$"""{"customer_id":"{{customer}}","product_id":"{{Product}}","success_url":"{{Server.Url}}/healthz?from=checkout","cancel_url":"{{Server.Url}}/readyz"}""");
            Assert.Equal("requires_checkout", (string?)r["status"]);
            return (customer, (string)r["subscription"]!["id"]!, Server.Url + (string)r["checkout_url"]!);
        }

        public async Task<string> StatusAsync(string subscription) => (string)(await Chromium.Send(Api, HttpMethod.Get, $"{Server.Url}/v1/subscriptions/{subscription}"))["status"]!;

        public async Task<IPage> PageAsync()
        {
            var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 800, Height = 1000 } });
            return await context.NewPageAsync();
        }
    }

    private static async Task<World> StartAsync(string dbFolder)
    {
        var server = await ServerProcess.StartAsync(dbFolder, new Dictionary<string, string> { ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey });
        var api = new HttpClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        var product = "pro_" + Guid.NewGuid().ToString("N")[..12];
        await Chromium.Send(api, HttpMethod.Post, server.Url + "/v1/products",
            $$"""{"id":"{{product}}","name":"Pro plan","prices":[{"type":"recurring","amount":2000,"currency":"usd","interval":"month","interval_count":1}]}""");
        var playwright = await Playwright.CreateAsync();
        var browser = await Chromium.LaunchAsync(playwright);
        return new World { Server = server, Api = api, Playwright = playwright, Browser = browser, Product = product };
    }

    /// <summary>axe-core on the current page: no serious or critical violation; saves a screenshot named <paramref name="name"/>.</summary>
    private static async Task ScanAndShootAsync(IPage page, string name)
    {
        var result = await page.RunAxe();
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id} ({v.Impact}): {v.Help}").ToList();
        Assert.True(bad.Count == 0, $"{name}: {string.Join("; ", bad)}");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Chromium.ArtifactsFolder(), $"checkout-{name}.png"), FullPage = true });
    }

    private static async Task FillCardAsync(IPage page, string number, string scope = "")
    {
        await page.Locator(scope + " #number").FillAsync(number);
        await page.Locator(scope + " #exp_month").FillAsync("12");
        await page.Locator(scope + " #exp_year").FillAsync("2031");
        await page.Locator(scope + " #cvc").FillAsync("123");
    }

    [Fact]
    public async Task A_person_subscribes_with_4242_after_fixing_an_empty_form_and_lands_on_the_success_url()
    {
        Chromium.Require();
        await using var w = await StartAsync(_temp.SqliteDb);
        var (_, subscription, url) = await w.SubscribeAsync("Ada Lovelace");
        var page = await w.PageAsync();
        var requested = new List<string>();
        page.Request += (_, r) => { lock (requested) requested.Add(r.Url); };
        var response = await page.GotoAsync(url);
        Assert.Equal(200, response!.Status);
        Assert.Equal("Pay $20.00", await page.Locator("h1").InnerTextAsync());
        Assert.Equal("$20.00", await page.Locator("#amount").InnerTextAsync());
        Assert.Equal("Pro plan", await page.Locator("#item").InnerTextAsync());
        Assert.Equal(0, await page.Locator("script").CountAsync());
        await ScanAndShootAsync(page, "form");

        // An empty form: the summary at the top and each field's error next to it.
        await page.Locator("#submit").ClickAsync();
        Assert.Equal("There is a problem", await page.Locator("#error-summary-title").InnerTextAsync());
        Assert.Equal("true", await page.Locator("#number").GetAttributeAsync("aria-invalid"));
        Assert.Equal("Error: Card number is required", await page.Locator("#number-error").TextContentAsync());
        await ScanAndShootAsync(page, "errors");

        await FillCardAsync(page, "4242 4242 4242 4242");
        await page.Locator("#submit").ClickAsync();
        await page.WaitForURLAsync(u => u.StartsWith(w.Server.Url + "/healthz?from=checkout&session_id=cs_", StringComparison.Ordinal));
        Assert.Equal("active", await w.StatusAsync(subscription));
        // Nothing but this server was ever asked for anything.
        lock (requested) Assert.All(requested, u => Assert.StartsWith(w.Server.Url + "/", u, StringComparison.Ordinal));

        await page.GotoAsync(url);
        Assert.Equal("Payment complete", await page.Locator("h1").InnerTextAsync());
        Assert.Equal(0, await page.Locator("form").CountAsync());
        await ScanAndShootAsync(page, "complete");
    }

    [Fact]
    public async Task The_3ds_card_shows_the_bank_step_cancel_explains_and_offers_a_retry_and_confirm_pays()
    {
        Chromium.Require();
        await using var w = await StartAsync(_temp.SqliteDb);
        var (_, subscription, url) = await w.SubscribeAsync("Charles Babbage");
        var page = await w.PageAsync();
        await page.GotoAsync(url);
        await FillCardAsync(page, "4000002500003155");
        await page.Locator("#submit").ClickAsync();
        Assert.Equal("Confirm this payment with your bank", await page.Locator("h1").InnerTextAsync());
        Assert.Equal("incomplete", await w.StatusAsync(subscription));
        await ScanAndShootAsync(page, "3ds");

        await page.Locator("#cancel-3ds").ClickAsync();
        Assert.Equal("The payment was not confirmed with your bank, so nothing was charged. Try again, or use another card.",
            await page.Locator("#form-error").InnerTextAsync());
        Assert.Equal("incomplete", await w.StatusAsync(subscription));
        await ScanAndShootAsync(page, "3ds-cancelled");

        await page.Locator("#retry").ClickAsync();
        Assert.Equal("Confirm this payment with your bank", await page.Locator("h1").InnerTextAsync());
        await page.Locator("#confirm").ClickAsync();
        await page.WaitForURLAsync(u => u.Contains("session_id=cs_", StringComparison.Ordinal));
        Assert.Equal("active", await w.StatusAsync(subscription));
    }

    [Fact]
    public async Task A_declined_card_shows_its_message_and_a_good_card_then_pays_using_the_keyboard_only()
    {
        Chromium.Require();
        await using var w = await StartAsync(_temp.SqliteDb);
        var (_, subscription, url) = await w.SubscribeAsync("Mary Somerville");
        var page = await w.PageAsync();
        await page.GotoAsync(url);
        await FillCardAsync(page, "4000000000000002");
        await page.Locator("#submit").ClickAsync();
        Assert.Equal("Your card was declined. Try another card.", await page.Locator("#form-error").InnerTextAsync());
        Assert.Equal("incomplete", await w.StatusAsync(subscription));
        await ScanAndShootAsync(page, "declined");

        // Keyboard only from the top of the page: Tab moves through the fields in reading order, Enter submits.
        await page.GotoAsync(url);
        async Task<string> Focused() => await page.EvaluateAsync<string>("() => document.activeElement ? document.activeElement.id : ''");
        foreach (var (field, text) in new[] { ("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "2031"), ("cvc", "123") })
        {
            await page.Keyboard.PressAsync("Tab");
            Assert.Equal(field, await Focused());
            await page.Keyboard.TypeAsync(text);
        }
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("submit", await Focused());
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(u => u.Contains("session_id=cs_", StringComparison.Ordinal));
        Assert.Equal("active", await w.StatusAsync(subscription));

        // An expired session's page says so, with no form.
        var (_, _, other) = await w.SubscribeAsync("Ada Byron");
        var id = other[(other.IndexOf("/checkout/", StringComparison.Ordinal) + 10)..other.IndexOf('?', StringComparison.Ordinal)];
        await Chromium.Send(w.Api, HttpMethod.Post, $"{w.Server.Url}/v1/checkout_sessions/{id}/expire");
        await page.GotoAsync(other);
        Assert.Equal("This checkout has expired", await page.Locator("h1").InnerTextAsync());
        Assert.Equal(0, await page.Locator("form").CountAsync());
        await ScanAndShootAsync(page, "expired");
    }
}
