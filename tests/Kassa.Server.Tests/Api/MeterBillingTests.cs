using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Usage billed from meters (issue 12 items 3 and 8) on test clocks, both engines: a pay-as-you-go
/// feature measured by a meter is billed from the meter's exact usage of the closed period (partial
/// first and last hours from the raw events, by event time), priced by the model; an event sent late
/// for a period already invoiced is billed once, on the next invoice, as a <c>prior_period</c> line
/// with that period's bounds. The ledger self-check holds after every invoice.
/// </summary>
public abstract class MeterBillingTests(KassaHost host)
{
    private const string Start = "2028-03-10T12:30:15Z";
    private const string PeriodEnd = "2028-04-10T12:30:15Z";

    private sealed record World(HttpClient C, string Clock, string Customer, string Feature, string EventName);

    /// <summary>An account, a clock at <see cref="Start"/>, a customer with a card on it, a feature and a count meter tracking it.</summary>
    private async Task<World> WorldAsync()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var clock = await c.Post("/v1/test_clocks", new { name = "meters", frozen_time = Start });
        Assert.True(clock.Status == HttpStatusCode.Created, clock.Body?.ToJsonString());
        var clockId = (string)clock.Body!["id"]!;
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/customers", new { id = customer, name = "Ada", test_clock_id = clockId })).Status);
        var pm = await c.Post("/v1/payment_methods", new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2040, cvc = "123" } });
        Assert.True(pm.Status is HttpStatusCode.OK or HttpStatusCode.Created, pm.Body?.ToJsonString());
        var feature = Wire.NewId("calls");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        var eventName = Wire.NewId("api.call");
        var meter = await c.Post("/v1/meters", new { id = Wire.NewId("m"), name = "Calls", event_name = eventName, aggregation = "count", feature_id = feature });
        Assert.True(meter.Status == HttpStatusCode.Created, meter.Body?.ToJsonString());
        return new World(c, clockId, customer, feature, eventName);
    }

    /// <summary>A pay-as-you-go product: nothing included, every call billed in arrears by <paramref name="usagePrice"/>.</summary>
    private static async Task<string> SubscribePayAsYouGoAsync(World w, JsonObject usagePrice, long? monthly = null)
    {
        usagePrice["type"] = "usage";
        usagePrice["feature_id"] = w.Feature;
        usagePrice["currency"] = "usd";
        usagePrice["billing"] = "in_arrears";
        var prices = new JsonArray { usagePrice };
        if (monthly is { } amount) prices.Add(new JsonObject { ["type"] = "recurring", ["amount"] = amount, ["currency"] = "usd", ["interval"] = "month" });
        var product = await w.C.Post("/v1/products", new JsonObject
        {
            ["id"] = Wire.NewId("payg"), ["name"] = "PAYG", ["prices"] = prices,
            ["features"] = new JsonArray { new JsonObject { ["feature_id"] = w.Feature, ["included"] = 0, ["reset"] = "month", ["overage"] = "billed" } },
        });
        Assert.True(product.Status == HttpStatusCode.Created, product.Body?.ToJsonString());
        var sub = await w.C.Post("/v1/subscribe", new { customer_id = w.Customer, product_id = (string)product.Body!["id"]! });
        Assert.True(sub.Status == HttpStatusCode.OK, sub.Body?.ToJsonString());
        Assert.Equal(Start, Norm((string)sub.Body!["subscription"]!["current_period_start"]!));
        return (string)sub.Body!["subscription"]!["id"]!;
    }

    /// <summary>Sends <paramref name="count"/> events at <paramref name="at"/> in batches of 1,000; every one must be accepted.</summary>
    private static async Task SendAsync(World w, int count, string at)
    {
        for (var sent = 0; sent < count; sent += 1000)
        {
            var events = Enumerable.Range(0, Math.Min(1000, count - sent))
                .Select(_ => new { id = Wire.NewId("ev"), event_name = w.EventName, customer_id = w.Customer, timestamp = at, properties = new { } }).ToArray();
            var r = await w.C.Post("/v1/meter_events/batch", new { events });
            Assert.True(r.Status == HttpStatusCode.Accepted, r.Body?.ToJsonString());
            Assert.True(events.Length == (long)r.Body!["accepted"]!, r.Body["rejected"]!.AsArray().FirstOrDefault()?.ToJsonString());
        }
    }

    private static async Task AdvanceAsync(World w, string to)
    {
        var r = await w.C.Post($"/v1/test_clocks/{w.Clock}/advance", new { to });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
    }

    /// <summary>The customer's invoices, oldest first.</summary>
    private static async Task<List<JsonNode>> InvoicesAsync(World w)
    {
        var r = await w.C.Get($"/v1/invoices?customer_id={w.Customer}&limit=100");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return [.. r.Body!["data"]!.AsArray().Select(i => i!).Reverse()];
    }

    private static List<JsonNode> Lines(JsonNode invoice, string type) => [.. invoice["lines"]!.AsArray().Select(l => l!).Where(l => (string?)l["type"] == type)];

    private static string Norm(string t) =>
        DateTimeOffset.Parse(t, CultureInfo.InvariantCulture).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("per_unit", 617)]   // 1,234 × 0.5
    [InlineData("graduated", 559)]  // 1,000 × 0.5 + 234 × 0.25 = 558.5, rounded once, half away from zero
    public async Task Pay_as_you_go_usage_is_billed_from_the_meter_exactly_over_a_period_that_starts_mid_hour(string model, long expected)
    {
        var w = await WorldAsync();
        var price = model == "per_unit"
            ? new JsonObject { ["model"] = "per_unit", ["unit_amount_decimal"] = "0.5" }
            : new JsonObject
            {
                ["model"] = "graduated",
                ["tiers"] = new JsonArray
                {
                    new JsonObject { ["up_to"] = 1000, ["unit_amount_decimal"] = "0.5" },
                    new JsonObject { ["up_to"] = null, ["unit_amount_decimal"] = "0.25" },
                },
            };
        await SubscribePayAsYouGoAsync(w, price);
        // Before the period (the same hour, and a microsecond before its first second): not this period's.
        await SendAsync(w, 5, "2028-03-10T12:10:00Z");
        await SendAsync(w, 5, "2028-03-10T12:30:14.999999Z");
        // The partial first hour, from the subscription's second on: 100.
        await SendAsync(w, 1, Start);
        await SendAsync(w, 99, "2028-03-10T12:34:59.999999Z");
        // Whole hours in between: 1,000.
        await AdvanceAsync(w, "2028-03-20T09:00:00Z");
        await SendAsync(w, 1000, "2028-03-20T08:15:00Z");
        // The partial last hour up to the period's end (exclusive): 134; at and after the end: next period's.
        await AdvanceAsync(w, "2028-04-10T12:29:00Z");
        await SendAsync(w, 100, "2028-04-10T12:05:00Z");
        await SendAsync(w, 34, "2028-04-10T12:30:14.999999Z");
        await SendAsync(w, 10, PeriodEnd);
        await SendAsync(w, 10, "2028-04-10T12:33:00Z");
        Assert.Empty(await InvoicesAsync(w));

        await AdvanceAsync(w, "2028-04-10T13:00:00Z");
        var invoice = Assert.Single(await InvoicesAsync(w));
        // One usage line: the balance the meter also tracked into (1,254 calls by then) is not billed a second time.
        var usage = Assert.Single(invoice["lines"]!.AsArray())!;
        Assert.Equal("usage", (string?)usage["type"]);
        Assert.Equal(1234m, (decimal)usage["quantity"]!);
        Assert.Equal(expected, (long)usage["amount"]!);
        Assert.Equal(w.Feature, (string?)usage["feature_id"]);
        Assert.Equal(Start, Norm((string)usage["period_start"]!));
        Assert.Equal(PeriodEnd, Norm((string)usage["period_end"]!));
        Assert.Equal(expected, (long)invoice["total"]!);
        Assert.Equal("paid", (string?)invoice["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);
    }

    [Fact]
    public async Task A_late_event_for_an_invoiced_period_is_billed_once_as_a_prior_period_line_at_the_margin()
    {
        var w = await WorldAsync();
        // 3 minor units a call for the first 120 calls, then 1: the late calls straddle the tier boundary.
        var sub = await SubscribePayAsYouGoAsync(w, new JsonObject
        {
            ["model"] = "graduated",
            ["tiers"] = new JsonArray
            {
                new JsonObject { ["up_to"] = 120, ["unit_amount_decimal"] = "3" },
                new JsonObject { ["up_to"] = null, ["unit_amount_decimal"] = "1" },
            },
        }, monthly: 1000);
        var invoices = await InvoicesAsync(w);
        Assert.Equal(1000, (long)Assert.Single(invoices)["total"]!);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);

        // Period 1: 100 calls, billed at its renewal.
        await AdvanceAsync(w, "2028-03-11T00:01:00Z");
        await SendAsync(w, 100, "2028-03-11T00:00:00Z");
        await AdvanceAsync(w, "2028-04-10T13:00:00Z");
        invoices = await InvoicesAsync(w);
        Assert.Equal(2, invoices.Count);
        var first = Assert.Single(Lines(invoices[1], "usage"));
        Assert.Equal(100m, (decimal)first["quantity"]!);
        Assert.Equal(300, (long)first["amount"]!);
        Assert.Empty(Lines(invoices[1], "prior_period"));
        Assert.Equal(1300, (long)invoices[1]["total"]!);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);

        // 50 calls of period 1 arrive late, after its invoice; 7 calls of period 2 arrive on time.
        await SendAsync(w, 50, "2028-04-01T00:00:00Z");
        await SendAsync(w, 7, "2028-04-10T12:45:00Z");
        // The upcoming invoice shows the difference and stores nothing: asking twice changes nothing.
        for (var i = 0; i < 2; i++)
        {
            var upcoming = await w.C.Get($"/v1/invoices/upcoming?subscription_id={sub}");
            Assert.True(upcoming.Status == HttpStatusCode.OK, upcoming.Body?.ToJsonString());
            Assert.Equal(90, (long)Assert.Single(Lines(upcoming.Body!, "prior_period"))["amount"]!);
        }

        await AdvanceAsync(w, "2028-05-10T13:00:00Z");
        invoices = await InvoicesAsync(w);
        Assert.Equal(3, invoices.Count);
        var prior = Assert.Single(Lines(invoices[2], "prior_period"));
        Assert.Equal(50m, (decimal)prior["quantity"]!);
        // price(150) − price(100) = (120 × 3 + 30 × 1) − 300 = 90: the tiers the period reached, not 50 × 3.
        Assert.Equal(90, (long)prior["amount"]!);
        Assert.Equal(w.Feature, (string?)prior["feature_id"]);
        Assert.Equal(Start, Norm((string)prior["period_start"]!));
        Assert.Equal(PeriodEnd, Norm((string)prior["period_end"]!));
        var second = Assert.Single(Lines(invoices[2], "usage"));
        Assert.Equal(7m, (decimal)second["quantity"]!);
        Assert.Equal(21, (long)second["amount"]!);
        Assert.Equal(1000 + 90 + 21, (long)invoices[2]["total"]!);
        Assert.Equal("paid", (string?)invoices[2]["status"]);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);

        // The renewal after that bills no difference again, for either period.
        await AdvanceAsync(w, "2028-06-10T13:00:00Z");
        invoices = await InvoicesAsync(w);
        Assert.Equal(4, invoices.Count);
        Assert.Empty(Lines(invoices[3], "prior_period"));
        Assert.Empty(Lines(invoices[3], "usage"));
        Assert.Equal(1000, (long)invoices[3]["total"]!);
        // Usage revenue (4001) is exactly what the usage and prior-period lines billed: 300 + 90 + 21.
        var tb = await w.C.Get("/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(300 + 90 + 21, (long)tb.Body!["accounts"]!.AsArray().Single(a => (string?)a!["code"] == "4001")!["balance"]!);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);
    }
}

public sealed class MeterBillingTestsSqlite(SqliteHost host) : MeterBillingTests(host), IClassFixture<SqliteHost>;

public sealed class MeterBillingTestsPostgres(PostgresHost host) : MeterBillingTests(host), IClassFixture<PostgresHost>;
