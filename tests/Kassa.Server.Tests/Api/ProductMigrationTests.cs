using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 12 item 2 on test clocks: <c>POST /v1/products/{id}/migrate</c> (subscribers move to the latest
/// version at their next renewal, which bills the closed period's usage at the old prices and the new
/// period at the new ones) and <c>carry_over</c> on an upgrade (balances added once, or usage deducted),
/// with exact invoices, balances and the ledger self-check. Time moves only by advancing the clock, so
/// every renewal happens through <c>POST /v1/test_clocks/{id}/advance</c>. Runs on both engines.
/// </summary>
public abstract class ProductMigrationTests(KassaHost host)
{
    private const string GoodCard = "4242424242424242";

    private sealed record World(HttpClient C, string Clock);

    private async Task<World> WorldAsync(string frozen)
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var clock = await c.Post("/v1/test_clocks", new { name = "migration", frozen_time = frozen });
        Assert.True(clock.Status == HttpStatusCode.Created, clock.Body?.ToJsonString());
        return new World(c, (string)clock.Body!["id"]!);
    }

    private static async Task<string> CustomerAsync(World w)
    {
        var id = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/customers", new { id, name = "Ada", test_clock_id = w.Clock })).Status);
        var pm = await w.C.Post("/v1/payment_methods", new { customer_id = id, card = new { number = GoodCard, exp_month = 12, exp_year = 2040, cvc = "123" } });
        Assert.True(pm.Status is HttpStatusCode.OK or HttpStatusCode.Created, pm.Body?.ToJsonString());
        return id;
    }

    private static async Task<string> FeatureAsync(World w)
    {
        var id = Wire.NewId("calls");
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/features", new { id, name = "Calls", type = "metered" })).Status);
        return id;
    }

    private static object Monthly(long amount) => new { type = "recurring", amount, currency = "usd", interval = "month", interval_count = 1 };

    private static object PerUnit(string feature, string unit) =>
        new { type = "usage", feature_id = feature, currency = "usd", billing = "in_arrears", model = "per_unit", unit_amount_decimal = unit };

    private static object Calls(string feature, long included, string overage = "billed") => new { feature_id = feature, included, reset = "month", overage };

    private static async Task<string> ProductAsync(World w, object body)
    {
        var r = await w.C.Post("/v1/products", body);
        Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
        return (string)r.Body!["id"]!;
    }

    private static async Task UpdateAsync(World w, string product, object body, int expectedVersion)
    {
        var r = await w.C.Post($"/v1/products/{product}", body);
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal(expectedVersion, (int)r.Body!["version"]!);
    }

    private static async Task<JsonNode> MigrateAsync(World w, string product, int from, int expectedCount, int expectedTo)
    {
        var r = await w.C.Post($"/v1/products/{product}/migrate", new { from_version = from });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        Assert.Equal("product_migration", (string?)r.Body!["object"]);
        Assert.Equal(product, (string?)r.Body["product_id"]);
        Assert.Equal((from, expectedTo, expectedCount), ((int)r.Body["from_version"]!, (int)r.Body["to_version"]!, (int)r.Body["subscriptions"]!));
        return r.Body;
    }

    private static async Task<JsonNode> SubscribeAsync(World w, string customer, string product, object? carryOver = null)
    {
        var body = new JsonObject { ["customer_id"] = customer, ["product_id"] = product };
        if (carryOver is not null) body["carry_over"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(carryOver));
        var r = await w.C.Post("/v1/subscribe", body);
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        return r.Body!;
    }

    private static async Task AdvanceAsync(World w, string to)
    {
        var r = await w.C.Post($"/v1/test_clocks/{w.Clock}/advance", new { to });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
    }

    private static async Task<JsonNode> GetAsync(World w, string path)
    {
        var r = await w.C.Get(path);
        Assert.True(r.Status == HttpStatusCode.OK, $"{path}: {r.Body?.ToJsonString()}");
        return r.Body!;
    }

    private static async Task<List<JsonNode>> InvoicesAsync(World w, string customer) =>
        [.. (await GetAsync(w, $"/v1/invoices?customer_id={customer}&limit=100"))["data"]!.AsArray().Select(i => i!).Reverse()];

    private static string Shape(JsonNode invoice) =>
        string.Join(" | ", invoice["lines"]!.AsArray().Select(l => $"{(string?)l!["type"]} {(long)l["amount"]!}"));

    /// <summary>The balance as a check sees it at the clock's time: (granted, used, remaining).</summary>
    private static async Task<(decimal Granted, decimal Used, decimal Remaining)> BalanceAsync(World w, string customer, string feature)
    {
        var r = await w.C.Post("/v1/check", new { customer_id = customer, feature_id = feature });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        var b = r.Body!["balance"]!;
        return ((decimal)b["granted"]!, (decimal)b["used"]!, (decimal)b["remaining"]!);
    }

    private static async Task TrackAsync(World w, string customer, string feature, long value)
    {
        var r = await w.C.Post("/v1/track", new { customer_id = customer, feature_id = feature, value });
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
    }

    [Fact]
    public async Task Migrating_version_1_bills_the_next_period_from_version_2_and_the_closed_period_usage_at_version_1_prices()
    {
        var w = await WorldAsync("2028-01-10T00:00:00Z");
        var calls = await FeatureAsync(w);
        var pro = await ProductAsync(w, new
        {
            id = Wire.NewId("pro"), name = "Pro", prices = new[] { Monthly(2000), PerUnit(calls, "1") }, features = new[] { Calls(calls, 1000) },
        });
        var customer = await CustomerAsync(w);
        var sub = (string)(await SubscribeAsync(w, customer, pro))["subscription"]!["id"]!;
        await TrackAsync(w, customer, calls, 1100);

        await UpdateAsync(w, pro, new { prices = new[] { Monthly(2500), PerUnit(calls, "2") }, features = new[] { Calls(calls, 2000) } }, 2);
        await MigrateAsync(w, pro, from: 1, expectedCount: 1, expectedTo: 2);
        // Running it again schedules nothing new; nothing is billed or granted before the renewal.
        await MigrateAsync(w, pro, from: 1, expectedCount: 0, expectedTo: 2);
        Assert.Equal(1, (int)(await GetAsync(w, $"/v1/subscriptions/{sub}"))["product_version"]!);
        Assert.Equal((1000m, 1100m, 0m), await BalanceAsync(w, customer, calls));
        // The upcoming invoice already shows what the renewal will bill.
        var upcoming = await GetAsync(w, $"/v1/invoices/upcoming?subscription_id={sub}");
        Assert.Equal(("recurring 2500 | usage 100", 2600L), (Shape(upcoming), (long)upcoming["total"]!));

        await AdvanceAsync(w, "2028-02-10T00:00:01Z");
        var renewal = (await InvoicesAsync(w, customer)).Last();
        // Version 2's fee in advance; the 100 calls over version 1's allowance at version 1's 1 per call.
        Assert.Equal("recurring 2500 | usage 100", Shape(renewal));
        Assert.Equal(2600, (long)renewal["total"]!);
        Assert.Equal("paid", (string?)renewal["status"]);
        var migrated = await GetAsync(w, $"/v1/subscriptions/{sub}");
        Assert.Equal(2, (int)migrated["product_version"]!);
        Assert.Equal("active", (string?)migrated["status"]);
        Assert.Equal((2000m, 0m, 2000m), await BalanceAsync(w, customer, calls));
        var updated = (await GetAsync(w, $"/v1/events?type=subscription.updated&object_id={sub}"))["data"]!.AsArray().Single()!;
        Assert.Equal(2, (int)updated["data"]!["object"]!["product_version"]!);
        Assert.Equal(1, (int)updated["data"]!["previous_attributes"]!["product_version"]!);
        Assert.Single((await GetAsync(w, $"/v1/events?type=product.migrated&object_id={pro}"))["data"]!.AsArray());

        // From now on version 2's prices: 100 over its 2000 calls at 2 per call.
        await TrackAsync(w, customer, calls, 2100);
        await AdvanceAsync(w, "2028-03-10T00:00:01Z");
        var next = (await InvoicesAsync(w, customer)).Last();
        Assert.Equal("recurring 2500 | usage 200", Shape(next));
        Assert.Equal(2, (int)(await GetAsync(w, $"/v1/subscriptions/{sub}"))["product_version"]!);
        var tb = await GetAsync(w, "/v1/ledger/trial_balance?currency=usd&as_of=2100-01-01T00:00:00Z");
        Assert.Equal(2000 + 2600 + 2700, (long)tb["accounts"]!.AsArray().Single(a => (string?)a!["code"] == "1000")!["balance"]!);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);
    }

    [Fact]
    public async Task A_scheduled_downgrade_wins_over_the_migration_and_a_subscription_starting_on_version_1_later_stays_until_migrated_again()
    {
        var w = await WorldAsync("2028-01-10T00:00:00Z");
        var calls = await FeatureAsync(w);
        var group = Wire.NewId("g");
        var basic = await ProductAsync(w, new { id = Wire.NewId("basic"), name = "Basic", group, prices = new[] { Monthly(2000) }, features = new[] { Calls(calls, 1000, "blocked") } });
        var premium = await ProductAsync(w, new { id = Wire.NewId("prem"), name = "Premium", group, prices = new[] { Monthly(5000) } });
        var a = await CustomerAsync(w);
        var b = await CustomerAsync(w);
        var aSub = (string)(await SubscribeAsync(w, a, basic))["subscription"]!["id"]!;
        var bPremium = (string)(await SubscribeAsync(w, b, premium))["subscription"]!["id"]!;
        var scheduled = await SubscribeAsync(w, b, basic);
        Assert.Equal("scheduled", (string?)scheduled["status"]);
        var bBasic = (string)scheduled["subscription"]!["id"]!;
        Assert.Equal(1, (int)scheduled["subscription"]!["product_version"]!);

        await UpdateAsync(w, basic, new { prices = new[] { Monthly(2500) }, features = new[] { Calls(calls, 2000, "blocked") } }, 2);
        await UpdateAsync(w, premium, new { prices = new[] { Monthly(5500) } }, 2);
        // Basic: only A's running subscription; B's scheduled one has not started and is not marked.
        await MigrateAsync(w, basic, from: 1, expectedCount: 1, expectedTo: 2);
        await MigrateAsync(w, premium, from: 1, expectedCount: 1, expectedTo: 2);

        await AdvanceAsync(w, "2028-02-10T00:00:01Z");
        Assert.Equal("recurring 2500", Shape((await InvoicesAsync(w, a)).Last()));
        Assert.Equal(2, (int)(await GetAsync(w, $"/v1/subscriptions/{aSub}"))["product_version"]!);
        // B's downgrade wins: Premium ends at its period end without a version-2 invoice, Basic starts on version 1.
        var premiumAfter = await GetAsync(w, $"/v1/subscriptions/{bPremium}");
        Assert.Equal(("canceled", "downgraded", 1), ((string?)premiumAfter["status"], (string?)premiumAfter["cancel_reason"], (int)premiumAfter["product_version"]!));
        var bInvoices = await InvoicesAsync(w, b);
        Assert.Equal(["recurring 5000", "recurring 2000"], bInvoices.Select(Shape).ToArray());
        var basicAfter = await GetAsync(w, $"/v1/subscriptions/{bBasic}");
        Assert.Equal(("active", 1), ((string?)basicAfter["status"], (int)basicAfter["product_version"]!));
        Assert.Equal((1000m, 0m, 1000m), await BalanceAsync(w, b, calls));

        // It started on version 1 after the migrate call, so it renews on version 1 ...
        await AdvanceAsync(w, "2028-03-10T00:00:01Z");
        Assert.Equal("recurring 2000", Shape((await InvoicesAsync(w, b)).Last()));
        Assert.Equal(1, (int)(await GetAsync(w, $"/v1/subscriptions/{bBasic}"))["product_version"]!);
        // ... until migrated again.
        await MigrateAsync(w, basic, from: 1, expectedCount: 1, expectedTo: 2);
        await AdvanceAsync(w, "2028-04-10T00:00:01Z");
        Assert.Equal("recurring 2500", Shape((await InvoicesAsync(w, b)).Last()));
        Assert.Equal(2, (int)(await GetAsync(w, $"/v1/subscriptions/{bBasic}"))["product_version"]!);
        Assert.Equal((2000m, 0m, 2000m), await BalanceAsync(w, b, calls));
        Assert.Equal(4, (await InvoicesAsync(w, a)).Count);
        await LedgerSelfCheck.AssertHoldsAsync(w.C);
    }

    [Fact]
    public async Task Migrate_refuses_bad_input_with_the_envelope()
    {
        var w = await WorldAsync("2028-01-10T00:00:00Z");
        var product = await ProductAsync(w, new { id = Wire.NewId("p"), name = "P", prices = new[] { Monthly(1000) } });
        var path = $"/v1/products/{product}/migrate";
        (await w.C.Post(path, new { })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "from_version");
        (await w.C.Post(path, new { from_version = "1" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        (await w.C.Post(path, new { from_version = 1.5 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        (await w.C.Post(path, new { from_version = 99999999999L })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        (await w.C.Post(path, new { from_version = 0 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        (await w.C.Post(path, new { from_version = 2 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        (await w.C.Post(path, new { from_version = 1, to_version = 2 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "to_version");
        (await w.C.Send(HttpMethod.Post, path, rawBody: "{\"from_version\": ")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
        (await w.C.Send(HttpMethod.Post, path, rawBody: "[1]")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
        // The only version is the latest: there is nothing to migrate to.
        (await w.C.Post(path, new { from_version = 1 })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await w.C.Post("/v1/products/nope_missing/migrate", new { from_version = 1 })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");

        // A subscription keeps its currency: a version priced in another one cannot be migrated to.
        await SubscribeAsync(w, await CustomerAsync(w), product);
        await UpdateAsync(w, product, new { prices = new[] { new { type = "recurring", amount = 1000, currency = "eur", interval = "month", interval_count = 1 } } }, 2);
        (await w.C.Post(path, new { from_version = 1 })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await w.C.Post(path, new { from_version = 3 })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from_version");
        Assert.Empty((await GetAsync(w, $"/v1/events?type=product.migrated&object_id={product}"))["data"]!.AsArray());
    }

    [Theory]
    [InlineData("balances", 5700, 0, 5700)]
    [InlineData("usages", 5000, 300, 4700)]
    public async Task Upgrading_with_carry_over_adds_the_unused_balance_once_or_deducts_the_usage_so_far(string form, long granted, long used, long remaining)
    {
        var w = await WorldAsync("2028-04-01T00:00:00Z");
        var calls = await FeatureAsync(w);
        var group = Wire.NewId("g");
        var pro = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", group, prices = new[] { Monthly(3000) }, features = new[] { Calls(calls, 1000, "blocked") } });
        var enterprise = await ProductAsync(w, new { id = Wire.NewId("ent"), name = "Enterprise", group, prices = new[] { Monthly(5000) }, features = new[] { Calls(calls, 5000, "blocked") } });
        var customer = await CustomerAsync(w);
        await SubscribeAsync(w, customer, pro);
        await TrackAsync(w, customer, calls, 300);
        await AdvanceAsync(w, "2028-04-16T00:00:00Z");
        object carry = form == "balances" ? new { balances = true } : new { usages = new[] { calls } };
        var upgraded = await SubscribeAsync(w, customer, enterprise, carry);
        Assert.Equal("active", (string?)upgraded["status"]);
        Assert.Equal(3500, (long)upgraded["invoice"]!["total"]!);
        Assert.Equal((granted, used, remaining), await BalanceAsync(w, customer, calls) is var b ? ((long)b.Granted, (long)b.Used, (long)b.Remaining) : default);

        // The upgrade started Enterprise's period (and the balance's, which Enterprise took over) on April 16:
        // at its reset a month later the new plan's 5000 is granted, and nothing carried comes back.
        await AdvanceAsync(w, "2028-05-16T00:00:01Z");
        Assert.Equal((5000m, 0m, 5000m), await BalanceAsync(w, customer, calls));
        await LedgerSelfCheck.AssertHoldsAsync(w.C);
    }

    [Fact]
    public async Task Carry_over_refuses_bad_input_with_the_envelope()
    {
        var w = await WorldAsync("2028-04-01T00:00:00Z");
        var calls = await FeatureAsync(w);
        var flag = Wire.NewId("sso");
        Assert.Equal(HttpStatusCode.Created, (await w.C.Post("/v1/features", new { id = flag, name = "SSO", type = "boolean" })).Status);
        var group = Wire.NewId("g");
        var pro = await ProductAsync(w, new { id = Wire.NewId("pro"), name = "Pro", group, prices = new[] { Monthly(3000) }, features = new[] { Calls(calls, 1000, "blocked") } });
        var enterprise = await ProductAsync(w, new
        {
            id = Wire.NewId("ent"), name = "Enterprise", group, prices = new[] { Monthly(5000) },
            features = new object[] { Calls(calls, 5000, "blocked"), new { feature_id = flag } },
        });
        var basic = await ProductAsync(w, new { id = Wire.NewId("basic"), name = "Basic", group, prices = new[] { Monthly(1000) } });
        var customer = await CustomerAsync(w);

        async Task Refused(object? carryOver, string code, string? param, string product, string? raw = null)
        {
            var body = raw ?? System.Text.Json.JsonSerializer.Serialize(new { customer_id = customer, product_id = product, carry_over = carryOver });
            (await w.C.Send(HttpMethod.Post, "/v1/subscribe", rawBody: body)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", code, param);
            (await w.C.Send(HttpMethod.Post, "/v1/subscribe/preview", rawBody: body)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", code, param);
        }

        // No plan in the group yet: nothing to carry from.
        await Refused(new { balances = true }, "validation_failed", "carry_over", pro);
        await SubscribeAsync(w, customer, pro);
        await Refused(new { balances = true, usages = new[] { calls } }, "validation_failed", "carry_over", enterprise);
        await Refused(new { }, "validation_failed", "carry_over", enterprise);
        await Refused(new { balances = false }, "validation_failed", "carry_over.balances", enterprise);
        await Refused(new { usages = Array.Empty<string>() }, "validation_failed", "carry_over.usages", enterprise);
        await Refused(new { usages = new[] { calls, calls } }, "validation_failed", "carry_over.usages", enterprise);
        await Refused(new { usages = new[] { "nope" } }, "validation_failed", "carry_over.usages", enterprise);
        await Refused(new { usages = new[] { flag } }, "validation_failed", "carry_over.usages", enterprise);
        await Refused(new { usages = Enumerable.Range(0, 101).Select(i => $"f{i}").ToArray() }, "validation_failed", "carry_over.usages", enterprise);
        await Refused(new { balance = true }, "unknown_field", null, enterprise);
        await Refused(null, "validation_failed", null, enterprise, $"{{\"customer_id\":\"{customer}\",\"product_id\":\"{enterprise}\",\"carry_over\":\"yes\"}}");
        await Refused(null, "validation_failed", null, enterprise, $"{{\"customer_id\":\"{customer}\",\"product_id\":\"{enterprise}\",\"carry_over\":{{\"usages\":[1]}}}}");
        // A downgrade starts at the period end: nothing to carry.
        await Refused(new { balances = true }, "validation_failed", "carry_over", basic);
        // Nothing was changed by the refusals: still on Pro with its full allowance.
        var subs = (await GetAsync(w, $"/v1/subscriptions?customer_id={customer}"))["data"]!.AsArray();
        Assert.Equal(pro, (string?)subs.Single()!["product_id"]);
    }
}

public sealed class ProductMigrationTestsSqlite(SqliteHost host) : ProductMigrationTests(host), IClassFixture<SqliteHost>;

public sealed class ProductMigrationTestsPostgres(PostgresHost host) : ProductMigrationTests(host), IClassFixture<PostgresHost>;
