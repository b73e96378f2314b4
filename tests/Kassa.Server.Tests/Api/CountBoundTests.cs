using System.Net;
using Dapper;
using Kassa.Engine.Catalog;
using Kassa.Engine.Metering;
using Kassa.Engine.Webhooks;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 11 item 5 on both engines: a read that stops at a fixed count never truncates quietly, because
/// the write that would take the count past its bound is refused with <c>409 limit_reached</c> and
/// stores nothing. Each bound is tested at its edge (the Nth succeeds) and one past it. Every test
/// works in an account of its own, so the objects it piles up cannot touch another test's.
/// </summary>
public abstract class CountBoundTests(KassaHost host)
{
    private static string Slug(string p) => $"{p}_{Guid.NewGuid():N}"[..(p.Length + 11)];

    private async Task<HttpClient> OwnAccount() => host.Client((await host.NewAccountAsync()).TestSecretKey);

    private static async Task<string> Customer(HttpClient client)
    {
        var id = Wire.NewId();
        var r = await client.Put($"/v1/customers/{id}", new { name = "B" });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        return id;
    }

    private static async Task<int> EnabledEndpoints(HttpClient client)
    {
        var count = 0;
        string? after = null;
        while (true)
        {
            var page = await client.Get("/v1/webhook_endpoints?limit=100" + (after is null ? "" : $"&starting_after={Uri.EscapeDataString(after)}"));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            count += page.Body!["data"]!.AsArray().Count(e => (string)e!["status"]! == "enabled");
            if (!(bool)page.Body!["has_more"]!) return count;
            after = (string)page.Body!["next_cursor"]!;
        }
    }

    private static Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode? Body, HttpResponseMessage Response)> CreateEndpoint(HttpClient client) =>
        client.Post("/v1/webhook_endpoints", new { url = "http://127.0.0.1:9/hook", events = new[] { "*" } });

    [Fact]
    public async Task The_hundredth_enabled_webhook_endpoint_is_created_and_the_hundred_and_first_is_refused()
    {
        const int Max = DispatchEvents.EndpointsPerTenantMax;
        Assert.Equal(100, Max);
        var client = await OwnAccount();
        string? first = null;
        for (var i = 0; i < Max; i++)
        {
            var r = await CreateEndpoint(client);
            Assert.Equal(HttpStatusCode.Created, r.Status);
            first ??= (string)r.Body!["id"]!;
        }
        Assert.Equal(Max, await EnabledEndpoints(client));
        var refused = (await CreateEndpoint(client)).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "url");
        Assert.Contains("100 enabled webhook endpoints", (string)refused["message"]!);
        Assert.Equal(Max, await EnabledEndpoints(client));

        // Disabling one makes room: one more can be created; re-enabling the disabled one is then one past the bound.
        Assert.Equal(HttpStatusCode.OK, (await client.Patch($"/v1/webhook_endpoints/{first}", new { disabled = true })).Status);
        Assert.Equal(HttpStatusCode.Created, (await CreateEndpoint(client)).Status);
        (await client.Patch($"/v1/webhook_endpoints/{first}", new { disabled = false }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "disabled");
        Assert.Equal("disabled", (string)(await client.Get($"/v1/webhook_endpoints/{first}")).Body!["status"]!);
        Assert.Equal(Max, await EnabledEndpoints(client));
        // Other changes to a disabled endpoint are not additions and still go through.
        Assert.Equal(HttpStatusCode.OK, (await client.Patch($"/v1/webhook_endpoints/{first}", new { description = "parked" })).Status);
    }

    [Fact]
    public async Task Re_enabling_a_webhook_endpoint_at_the_edge_succeeds()
    {
        const int Max = DispatchEvents.EndpointsPerTenantMax;
        var client = await OwnAccount();
        var first = (string)(await CreateEndpoint(client)).Body!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.Patch($"/v1/webhook_endpoints/{first}", new { disabled = true })).Status);
        for (var i = 0; i < Max - 1; i++) Assert.Equal(HttpStatusCode.Created, (await CreateEndpoint(client)).Status);
        var enabled = await client.Patch($"/v1/webhook_endpoints/{first}", new { disabled = false });
        Assert.Equal(HttpStatusCode.OK, enabled.Status);
        Assert.Equal("enabled", (string)enabled.Body!["status"]!);
        Assert.Equal(Max, await EnabledEndpoints(client));
    }

    [Fact]
    public async Task The_twentieth_auto_enable_product_is_attached_and_the_twenty_first_is_refused()
    {
        const int Max = AutoEnableLimit.ProductsMax;
        Assert.Equal(20, Max);
        var client = await OwnAccount();
        var feature = Slug("f");
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/features", new { id = feature, name = "F", type = "metered" })).Status);
        object Product(string id, bool? autoEnable) =>
            new { id, name = "P", auto_enable = autoEnable, features = new[] { new { feature_id = feature, included = 1, reset = "month" } } };
        for (var i = 0; i < Max; i++) Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/products", Product($"auto{i:D2}", true))).Status);

        // Past the bound on create: refused, nothing stored.
        (await client.Post("/v1/products", Product("auto20", true))).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "auto_enable");
        (await client.Get("/v1/products/auto20")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        // Past the bound on update: refused, the product keeps auto_enable false.
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/products", Product("manual", false))).Status);
        (await client.Post("/v1/products/manual", new { auto_enable = true })).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "auto_enable");
        Assert.False((bool)(await client.Get("/v1/products/manual")).Body!["auto_enable"]!);

        // Every one of the 20 is attached to a new customer: 20 subscriptions, a balance of 20 units.
        var c = await Customer(client);
        var balance = (await client.Get($"/v1/customers/{c}/balances")).Body!["data"]!.AsArray().Single()!;
        Assert.Equal(20m, (decimal)balance["granted"]!);

        // Turning one off makes room for exactly one more.
        Assert.Equal(HttpStatusCode.OK, (await client.Post("/v1/products/auto00", new { auto_enable = false })).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.Post("/v1/products/manual", new { auto_enable = true })).Status);
        (await client.Post("/v1/products/auto00", new { auto_enable = true })).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "auto_enable");
    }

    private static object Meter(string eventName) => new { id = Slug("m"), name = "M", event_name = eventName, aggregation = "count" };

    [Fact]
    public async Task The_hundredth_meter_of_an_event_name_is_created_and_fed_and_the_hundred_and_first_is_refused()
    {
        const int Max = CreateMeter.MetersPerEventNameMax;
        Assert.Equal(100, Max);
        var client = await OwnAccount();
        var ids = new List<string>();
        for (var i = 0; i < Max; i++)
        {
            var r = await client.Post("/v1/meters", Meter("busy"));
            Assert.Equal(HttpStatusCode.Created, r.Status);
            ids.Add((string)r.Body!["id"]!);
        }
        var extra = Meter("busy");
        (await client.Post("/v1/meters", extra)).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "event_name");
        var extraId = (string)extra.GetType().GetProperty("id")!.GetValue(extra)!;
        (await client.Get($"/v1/meters/{extraId}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        // The bound is per event name: another name still takes meters.
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/meters", Meter("quiet"))).Status);

        // One event of each name in one batch feeds all 100 + 1 meters (the old shared read stopped at a count).
        var c = await Customer(client);
        var now = host.Clock.GetUtcNow();
        var at = now.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ");
        var batch = await client.Post("/v1/meter_events/batch", new
        {
            events = new object[] { new { id = Slug("ev"), event_name = "busy", customer_id = c, timestamp = at }, new { id = Slug("ev"), event_name = "quiet", customer_id = c, timestamp = at } },
        });
        Assert.Equal(HttpStatusCode.Accepted, batch.Status);
        Assert.Equal(2, (int)batch.Body!["accepted"]!);
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        foreach (var id in new[] { ids[0], ids[^1] })
        {
            var usage = await client.Get($"/v1/meters/{id}/usage?customer_id={c}&from={hour:yyyy-MM-ddTHH:mm:ss}Z&to={hour.AddHours(1):yyyy-MM-ddTHH:mm:ss}Z");
            Assert.Equal(HttpStatusCode.OK, usage.Status);
            Assert.Equal(1m, (decimal)usage.Body!["data"]![0]!["value"]!);
        }
    }

    [Fact]
    public async Task Events_of_a_name_with_more_meters_than_the_bound_are_refused_not_fed_to_some()
    {
        // Only meters stored before the bound existed can be past it; a row written past the API stands in for them.
        var account = await host.NewAccountAsync();
        var client = host.Client(account.TestSecretKey);
        string? legacy = null;
        for (var i = 0; i < CreateMeter.MetersPerEventNameMax; i++)
        {
            var r = await client.Post("/v1/meters", Meter("legacy"));
            Assert.Equal(HttpStatusCode.Created, r.Status);
            legacy ??= (string)r.Body!["id"]!;
        }
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            return await session.Connection.ExecuteAsync("""
                INSERT INTO meters (account_id, livemode, id, name, event_name, aggregation, value_property, group_by, filter, feature_id, created_at, updated_at)
                VALUES (@a, @live, 'zz_past_the_bound', 'M', 'legacy', 'count', NULL, '[]', '{}', NULL, 1700000000000000, 1700000000000000)
                """, new { a = account.AccountId, live = false }, session.Transaction);
        });
        var c = await Customer(client);
        var now = host.Clock.GetUtcNow();
        var at = now.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ");
        var batch = await client.Post("/v1/meter_events/batch", new
        {
            events = new object[] { new { id = "ok1", event_name = "other", customer_id = c, timestamp = at }, new { id = "no1", event_name = "legacy", customer_id = c, timestamp = at } },
        });
        Assert.Equal(HttpStatusCode.Accepted, batch.Status);
        Assert.Equal(1, (int)batch.Body!["accepted"]!);
        var rejected = batch.Body!["rejected"]!.AsArray().Single()!;
        Assert.Equal((1, "limit_reached"), ((int)rejected["index"]!, (string)rejected["code"]!));
        // A single event is refused the same way (as an entry of its answer, like every refusal decided in the transaction).
        var single = await client.Post("/v1/meter_events", new { id = "no2", event_name = "legacy", customer_id = c, timestamp = at });
        Assert.Equal(HttpStatusCode.Accepted, single.Status);
        Assert.Equal((0, "limit_reached"), ((int)single.Body!["accepted"]!, (string)single.Body!["rejected"]![0]!["code"]!));
        // Not fed to the meters of its name either.
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var usage = await client.Get($"/v1/meters/{legacy}/usage?customer_id={c}&from={hour:yyyy-MM-ddTHH:mm:ss}Z&to={hour.AddHours(1):yyyy-MM-ddTHH:mm:ss}Z");
        Assert.Equal(HttpStatusCode.OK, usage.Status);
        Assert.Empty(usage.Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task The_hundredth_live_subscription_is_taken_and_the_hundred_and_first_is_refused()
    {
        const int Max = GetPricingTable.SubscriptionsMax;
        Assert.Equal(100, Max);
        var client = await OwnAccount();
        var feature = Slug("f");
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/features", new { id = feature, name = "F", type = "metered" })).Status);
        for (var i = 0; i <= Max; i++)
        {
            var p = await client.Post("/v1/products", new { id = $"p{i:D3}", name = "P", features = new[] { new { feature_id = feature, included = 1, reset = "month" } } });
            Assert.Equal(HttpStatusCode.Created, p.Status);
        }
        var c = await Customer(client);
        for (var i = 0; i < Max; i++)
        {
            var r = await client.Post("/v1/subscribe", new { customer_id = c, product_id = $"p{i:D3}" });
            Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        }
        (await client.Post("/v1/subscribe", new { customer_id = c, product_id = $"p{Max:D3}" }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "customer_id");
        // Nothing of the refused one was stored: the balance holds the 100 granted units only.
        var balance = (await client.Get($"/v1/customers/{c}/balances")).Body!["data"]!.AsArray().Single()!;
        Assert.Equal(100m, (decimal)balance["granted"]!);
        // With the 101st product archived, the pricing table (at most 100 active products) shows every subscription as active.
        Assert.Equal(HttpStatusCode.OK, (await client.Post($"/v1/products/p{Max:D3}/archive")).Status);
        var table = await client.Get($"/v1/pricing_table?customer_id={c}");
        Assert.Equal(HttpStatusCode.OK, table.Status);
        Assert.Equal(Enumerable.Repeat("active", Max), table.Body!["data"]!.AsArray().Select(p => (string)p!["scenario"]!));
    }

    [Fact]
    public async Task The_pricing_table_shows_a_hundred_active_products_and_refuses_a_hundred_and_one()
    {
        const int Max = GetPricingTable.ProductsMax;
        Assert.Equal(100, Max);
        var client = await OwnAccount();
        for (var i = 0; i < Max; i++) Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/products", new { id = $"p{i:D3}", name = "P" })).Status);
        var atEdge = await client.Get("/v1/pricing_table");
        Assert.Equal(HttpStatusCode.OK, atEdge.Status);
        var ids = atEdge.Body!["data"]!.AsArray().Select(p => (string)p!["product_id"]!).ToList();
        Assert.Equal(Max, ids.Count);
        Assert.Equal(("p000", "p099"), (ids[0], ids[^1]));
        Assert.False((bool)atEdge.Body!["has_more"]!);

        // The 101st active product: the table used to drop the oldest one silently; now it says so.
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/products", new { id = $"p{Max:D3}", name = "P" })).Status);
        (await client.Get("/v1/pricing_table")).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached");
        // Archived products are not shown, so archiving one brings the table back.
        Assert.Equal(HttpStatusCode.OK, (await client.Post("/v1/products/p000/archive")).Status);
        var again = await client.Get("/v1/pricing_table");
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(("p001", "p100"), ((string)again.Body!["data"]![0]!["product_id"]!, (string)again.Body!["data"]![Max - 1]!["product_id"]!));
    }

    [Fact]
    public async Task The_thousandth_product_version_is_made_and_the_thousand_and_first_is_refused()
    {
        const int Max = ListProductVersions.VersionsMax;
        Assert.Equal(1_000, Max);
        var account = await host.NewAccountAsync();
        var client = host.Client(account.TestSecretKey);
        var feature = Slug("f");
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/features", new { id = feature, name = "F", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/products", new
        {
            id = "many", name = "P", features = new[] { new { feature_id = feature, included = 1, reset = "month" } },
        })).Status);
        // Versions 2 … 999 copied from version 1 past the API (making them one by one takes a subscriber and an update each).
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            await session.Connection.ExecuteAsync("""
                WITH RECURSIVE n(g) AS (SELECT 2 UNION ALL SELECT g + 1 FROM n WHERE g < @last)
                INSERT INTO product_versions (account_id, livemode, product_id, version, prices, features, created_at)
                SELECT v.account_id, v.livemode, v.product_id, n.g, v.prices, v.features, v.created_at + n.g
                FROM product_versions v, n WHERE v.account_id = @a AND v.product_id = 'many' AND v.version = 1
                """, new { a = account.AccountId, last = Max - 1 }, session.Transaction);
            return await session.Connection.ExecuteAsync("UPDATE products SET version = @last WHERE account_id = @a AND id = 'many'",
                new { a = account.AccountId, last = Max - 1 }, session.Transaction);
        });

        async Task<(HttpStatusCode Status, System.Text.Json.Nodes.JsonNode? Body, HttpResponseMessage Response)> SubscribeAndChange(int included)
        {
            var c = await Customer(client);
            Assert.Equal(HttpStatusCode.OK, (await client.Post("/v1/subscribe", new { customer_id = c, product_id = "many" })).Status);
            return await client.Post("/v1/products/many", new { features = new[] { new { feature_id = feature, included, reset = "month" } } });
        }

        var atEdge = await SubscribeAndChange(2);
        Assert.Equal(HttpStatusCode.OK, atEdge.Status);
        Assert.Equal(Max, (int)atEdge.Body!["version"]!);
        (await SubscribeAndChange(3)).AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "id");
        var product = (await client.Get("/v1/products/many")).Body!;
        Assert.Equal(Max, (int)product["version"]!);
        Assert.Equal(2m, (decimal)product["features"]![0]!["included"]!);
        var versions = (await client.Get("/v1/products/many/versions")).Body!["data"]!.AsArray();
        Assert.Equal(Max, versions.Count);
        Assert.Equal((Max, 1), ((int)versions[0]!["version"]!, (int)versions[^1]!["version"]!));
        // Changes that make no version (no subscriber on the current one, or no price or feature change) still go through.
        Assert.Equal(HttpStatusCode.OK, (await client.Post("/v1/products/many", new { name = "Renamed" })).Status);
    }
}

public sealed class CountBoundTestsSqlite(SqliteHost host) : CountBoundTests(host), IClassFixture<SqliteHost>;

public sealed class CountBoundTestsPostgres(PostgresHost host) : CountBoundTests(host), IClassFixture<PostgresHost>;
