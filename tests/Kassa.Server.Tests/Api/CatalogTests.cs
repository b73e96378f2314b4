using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §3: features, products, versions, pricing table. Runs on both engines.</summary>
public abstract class CatalogTests(KassaHost host)
{
    private static string Slug(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private async Task<string> Feature(string type = "metered", object? creditSchema = null, string? unit = null)
    {
        var id = Slug(type[..4]);
        var r = await host.Client().Post("/v1/features", new { id, name = $"Feature {id}", type, unit, credit_schema = creditSchema });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        return id;
    }

    /// <summary>Pretends a customer subscribes to a product version (subscriptions arrive in a later capability).</summary>
    private async Task Subscribe(string customerId, string productId, int version, string status = "active", string? scheduledProductId = null)
    {
        // Named columns: the rest (billing anchor, interval, clock…) keep their defaults.
        var sql = host.Engine == "postgres"
            ? "INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, cancel_at_period_end, paused, scheduled_product_id, created_at) VALUES (@a, FALSE, @id, @c, @p, @v, @s, 1, FALSE, FALSE, @sp, 0)"
            : "INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, cancel_at_period_end, paused, scheduled_product_id, created_at) VALUES (@a, 0, @id, @c, @p, @v, @s, 1, 0, 0, @sp, 0)";
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            return await session.Connection.ExecuteAsync(sql, new { a = host.Account.AccountId, id = "sub_" + Guid.NewGuid().ToString("N"), c = customerId, p = productId, v = version, s = status, sp = scheduledProductId }, session.Transaction);
        });
    }

    [Fact]
    public async Task Features_of_each_type_are_created_read_updated_and_archived()
    {
        var flag = await Feature("boolean");
        var calls = await Feature("metered", unit: "calls");
        var credits = await Feature("credit_system", new[] { new { feature_id = calls, credit_cost = 2.5m } });
        var got = (await host.Client().Get($"/v1/features/{credits}")).Body!;
        Assert.Equal("feature", (string?)got["object"]);
        Assert.Equal("credit_system", (string?)got["type"]);
        Assert.Equal("[{\"feature_id\":\"" + calls + "\",\"credit_cost\":2.5}]", got["credit_schema"]!.ToJsonString());
        Assert.Null((await host.Client().Get($"/v1/features/{flag}")).Body!["credit_schema"]);

        var patched = await host.Client().Patch($"/v1/features/{calls}", new { name = "API calls", unit = "requests" });
        Assert.Equal("API calls", (string?)patched.Body!["name"]);
        Assert.Equal("requests", (string?)patched.Body!["unit"]);
        (await host.Client().Patch($"/v1/features/{calls}", new { type = "boolean" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "type");

        var archived = await host.Client().Post($"/v1/features/{flag}/archive");
        Assert.True((bool)archived.Body!["archived"]!);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post($"/v1/features/{flag}/archive")).Status);
        (await host.Client().Post("/v1/features", new { id = calls, name = "again", type = "metered" })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists", "id");
        (await host.Client().Get("/v1/features/nope")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Theory]
    [InlineData("{\"id\":\"Bad Id\",\"name\":\"x\",\"type\":\"metered\"}", "validation_failed", "id")]
    [InlineData("{\"id\":\"f1\",\"name\":\"x\",\"type\":\"gauge\"}", "validation_failed", "type")]
    [InlineData("{\"id\":\"f1\",\"type\":\"metered\"}", "validation_failed", "name")]
    [InlineData("{\"id\":\"f1\",\"name\":\"x\",\"type\":\"credit_system\"}", "validation_failed", "credit_schema")]
    [InlineData("{\"id\":\"f1\",\"name\":\"x\",\"type\":\"credit_system\",\"credit_schema\":[{\"feature_id\":\"missing\",\"credit_cost\":1}]}", "validation_failed", "credit_schema[0].feature_id")]
    [InlineData("{\"id\":\"f1\",\"name\":\"x\",\"type\":\"metered\",\"credit_schema\":[]}", "validation_failed", "credit_schema")]
    [InlineData("{\"name\":\"x\",\"type\":\"metered\"}", "parameter_missing", "id")]
    public async Task Invalid_features_are_refused_naming_the_field(string body, string code, string param)
    {
        var r = await host.Client().Send(HttpMethod.Post, "/v1/features", rawBody: body);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", code, param);
    }

    [Fact]
    public async Task A_product_with_every_price_model_round_trips()
    {
        var (a, b, c, d) = (await Feature(), await Feature(), await Feature(), await Feature());
        var sso = await Feature("boolean");
        var seats = await Feature();
        var id = Slug("pro");
        var body = $$$"""
            {"id": "{{{id}}}", "name": "Pro", "group": "main", "is_add_on": false, "auto_enable": false,
             "free_trial": {"days": 14, "card_required": true}, "metadata": {"tier": "2"},
             "prices": [
               {"type": "recurring", "amount": 2000, "currency": "usd", "interval": "month"},
               {"type": "usage", "feature_id": "{{{a}}}", "currency": "usd", "model": "per_unit", "unit_amount_decimal": "0.02"},
               {"type": "usage", "feature_id": "{{{b}}}", "currency": "usd", "model": "package", "package_size": 1000, "amount": 500, "billing": "prepaid"},
               {"type": "usage", "feature_id": "{{{c}}}", "currency": "usd", "billing": "in_arrears", "model": "graduated",
                "tiers": [{"up_to": 100000, "unit_amount_decimal": "0.1"}, {"up_to": null, "unit_amount_decimal": "0.05", "flat_amount": 0}]},
               {"type": "usage", "feature_id": "{{{d}}}", "currency": "usd", "model": "volume",
                "tiers": [{"up_to": 10, "unit_amount_decimal": "100", "flat_amount": 500}, {"up_to": null, "unit_amount_decimal": "80"}]}],
             "features": [
               {"feature_id": "{{{a}}}", "included": 10000, "reset": "month", "overage": "billed", "rollover": {"max": 5000}},
               {"feature_id": "{{{b}}}", "included": 0, "reset": "never"},
               {"feature_id": "{{{c}}}", "included": 0, "overage": "billed"},
               {"feature_id": "{{{d}}}", "included": 1.5, "reset": "day", "overage": "billed", "per_entity": "{{{seats}}}"},
               {"feature_id": "{{{sso}}}"},
               {"feature_id": "{{{seats}}}", "included": 5, "reset": "never", "overage": "blocked"}]}
            """;
        var created = await host.Client().Send(HttpMethod.Post, "/v1/products", rawBody: body);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        var product = created.Body!;
        Assert.Equal("product", (string?)product["object"]);
        Assert.Equal(1, (int)product["version"]!);
        var prices = product["prices"]!.AsArray();
        Assert.Equal(5, prices.Count);
        Assert.All(prices, p => Assert.Matches("^price_[0-9A-Z]{26}$", (string)p!["id"]!));
        Assert.Equal(1, (int)prices[0]!["interval_count"]!);
        Assert.Equal("0.02", (string?)prices[1]!["unit_amount_decimal"]);
        Assert.Equal("in_arrears", (string?)prices[1]!["billing"]);
        Assert.Equal("prepaid", (string?)prices[2]!["billing"]);
        Assert.Equal("0.1", (string?)prices[3]!["tiers"]![0]!["unit_amount_decimal"]);
        Assert.Null(prices[3]!["tiers"]![1]!["up_to"]);
        Assert.Equal(500, (long)prices[4]!["tiers"]![0]!["flat_amount"]!);
        var features = product["features"]!.AsArray();
        Assert.Equal(0m, (decimal)features[2]!["included"]!);
        Assert.Equal("month", (string?)features[2]!["reset"]);
        Assert.Equal(1.5m, (decimal)features[3]!["included"]!);
        Assert.Equal("blocked", (string?)features[1]!["overage"]);
        Assert.Equal(5000m, (decimal)features[0]!["rollover"]!["max"]!);
        Assert.Null(features[4]!["included"]);

        var fetched = await host.Client().Get($"/v1/products/{id}");
        Assert.Equal(product.ToJsonString(), fetched.Body!.ToJsonString());
        var listed = await host.Client().Get("/v1/products?limit=100");
        Assert.Contains(listed.Body!["data"]!.AsArray(), p => p!.ToJsonString() == product.ToJsonString());
    }

    public static TheoryData<string, string> InvalidProducts => new()
    {
        { """{"prices":[{"type":"usage","feature_id":"{flag}","currency":"usd","model":"per_unit","unit_amount_decimal":"1"}],"features":[{"feature_id":"{flag}"}]}""", "prices[0].feature_id" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"graduated","tiers":[{"up_to":100,"unit_amount_decimal":"1"},{"up_to":50,"unit_amount_decimal":"1"},{"up_to":null,"unit_amount_decimal":"1"}]}],"features":[{"feature_id":"{m}","included":0,"overage":"billed"}]}""", "prices[0].tiers[1].up_to" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"graduated","tiers":[{"up_to":100,"unit_amount_decimal":"1"}]}],"features":[{"feature_id":"{m}","included":0,"overage":"billed"}]}""", "prices[0].tiers[0].up_to" },
        { """{"prices":[{"type":"recurring","amount":100,"currency":"usd","interval":"month"},{"type":"one_time","amount":100,"currency":"eur"}]}""", "prices[1].currency" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"per_unit","unit_amount_decimal":"1"}]}""", "prices[0].feature_id" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"per_unit","unit_amount_decimal":"1"}],"features":[{"feature_id":"{m}","included":10}]}""", "prices[0].feature_id" },
        { """{"prices":[{"type":"recurring","amount":100,"currency":"usd"}]}""", "prices[0].interval" },
        { """{"prices":[{"type":"recurring","amount":-1,"currency":"usd","interval":"month"}]}""", "prices[0].amount" },
        { """{"prices":[{"type":"recurring","amount":100,"currency":"xyz","interval":"month"}]}""", "prices[0].currency" },
        { """{"prices":[{"type":"recurring","amount":100,"currency":"USD","interval":"month"}]}""", "prices[0].currency" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"per_unit","unit_amount_decimal":"-1"}],"features":[{"feature_id":"{m}","included":0,"overage":"billed"}]}""", "prices[0].unit_amount_decimal" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"package","amount":100}],"features":[{"feature_id":"{m}","included":0,"overage":"billed"}]}""", "prices[0].package_size" },
        { """{"features":[{"feature_id":"{m}","included":"unlimited","overage":"billed"}]}""", "features[0].overage" },
        { """{"prices":[{"type":"usage","feature_id":"{m}","currency":"usd","model":"per_unit","unit_amount_decimal":"1"}],"features":[{"feature_id":"{m}","included":"unlimited","overage":"allowed"}]}""", "prices[0].feature_id" },
        { """{"features":[{"feature_id":"{m}"}]}""", "features[0].included" },
        { """{"features":[{"feature_id":"{m}","included":1.1234567}]}""", "features[0].included" },
        { """{"features":[{"feature_id":"{flag}","included":5}]}""", "features[0]" },
        { """{"features":[{"feature_id":"{m}","included":5,"per_entity":"{flag}"}]}""", "features[0].per_entity" },
        { """{"features":[{"feature_id":"nope","included":5}]}""", "features[0].feature_id" },
        { """{"features":[{"feature_id":"{m}","included":5},{"feature_id":"{m}","included":6}]}""", "features[1].feature_id" },
        { """{"features":[{"feature_id":"{m}","included":5,"reset":"never","rollover":{"max":1}}]}""", "features[0].rollover" },
        { """{"features":[{"feature_id":"{m}","included":5,"reset":"fortnight"}]}""", "features[0].reset" },
        { """{"free_trial":{"days":0}}""", "free_trial.days" },
        { """{"prices":[{"type":"recurring","amount":100,"currency":"usd","interval":"month","model":"per_unit"}]}""", "prices[0]" },
    };

    [Theory]
    [MemberData(nameof(InvalidProducts))]
    public async Task Invalid_catalogs_are_refused_with_the_exact_field(string template, string param)
    {
        var flag = await Feature("boolean");
        var metered = await Feature();
        var json = JsonNode.Parse(template.Replace("{flag}", flag).Replace("{m}", metered))!.AsObject();
        json["id"] = Slug("bad");
        json["name"] = "Bad";
        var r = await host.Client().Send(HttpMethod.Post, "/v1/products", rawBody: json.ToJsonString());
        var error = r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        Assert.Contains(error["details"]!.AsArray(), d => (string?)d!["field"] == param);
    }

    [Fact]
    public async Task An_archived_feature_cannot_be_used_by_a_new_product()
    {
        var m = await Feature();
        await host.Client().Post($"/v1/features/{m}/archive");
        var r = await host.Client().Post("/v1/products", new { id = Slug("p"), name = "P", features = new[] { new { feature_id = m, included = 1 } } });
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        Assert.Equal("features[0].feature_id", (string?)r.Body!["error"]!["details"]![0]!["field"]);
    }

    [Fact]
    public async Task Changing_a_product_with_subscribers_makes_a_new_version_and_keeps_unchanged_price_ids()
    {
        var m = await Feature();
        var id = Slug("plan");
        var created = await host.Client().Post("/v1/products", new
        {
            id, name = "Plan",
            prices = new object[] { new { type = "recurring", amount = 1000, currency = "usd", interval = "month" } },
            features = new[] { new { feature_id = m, included = 100 } },
        });
        var priceId = (string)created.Body!["prices"]![0]!["id"]!;

        // No subscribers: the change is made in place.
        var inPlace = await host.Client().Post($"/v1/products/{id}", new { features = new[] { new { feature_id = m, included = 200 } } });
        Assert.Equal(1, (int)inPlace.Body!["version"]!);
        Assert.Equal(priceId, (string?)inPlace.Body!["prices"]![0]!["id"]);

        await Subscribe("cus_v", id, 1);
        var unchanged = await host.Client().Post($"/v1/products/{id}", new { features = new[] { new { feature_id = m, included = 200 } } });
        Assert.Equal(1, (int)unchanged.Body!["version"]!);

        var v2 = await host.Client().Post($"/v1/products/{id}", new
        {
            prices = new object[] { new { type = "recurring", amount = 1000, currency = "usd", interval = "month" } },
            features = new[] { new { feature_id = m, included = 500 } },
        });
        Assert.Equal(2, (int)v2.Body!["version"]!);
        Assert.Equal(priceId, (string?)v2.Body!["prices"]![0]!["id"]);
        Assert.Equal(500m, (decimal)v2.Body!["features"]![0]!["included"]!);

        var versions = (await host.Client().Get($"/v1/products/{id}/versions")).Body!["data"]!.AsArray();
        Assert.Equal([2, 1], versions.Select(v => (int)v!["version"]!).ToArray());
        Assert.Equal([true, false], versions.Select(v => (bool)v!["current"]!).ToArray());
        Assert.Equal(200m, (decimal)versions[1]!["features"]![0]!["included"]!);

        var renamed = await host.Client().Post($"/v1/products/{id}", new { name = "Plan Plus" });
        Assert.Equal(2, (int)renamed.Body!["version"]!);
        Assert.Equal("Plan Plus", (string?)renamed.Body!["name"]);
    }

    [Fact]
    public async Task An_archived_product_leaves_the_list_and_pricing_table_and_cannot_be_changed()
    {
        var id = Slug("old");
        await host.Client().Post("/v1/products", new { id, name = "Old" });
        var archived = await host.Client().Post($"/v1/products/{id}/archive");
        Assert.True((bool)archived.Body!["archived"]!);
        Assert.DoesNotContain((await host.Client().Get("/v1/products?limit=100")).Body!["data"]!.AsArray(), p => (string?)p!["id"] == id);
        Assert.Contains((await host.Client().Get("/v1/products?limit=100&include_archived=true")).Body!["data"]!.AsArray(), p => (string?)p!["id"] == id);
        Assert.DoesNotContain((await host.Client().Get("/v1/pricing_table")).Body!["data"]!.AsArray(), p => (string?)p!["product_id"] == id);
        (await host.Client().Post($"/v1/products/{id}", new { name = "New" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
    }

    [Fact]
    public async Task Pricing_table_formats_usd_eur_and_jpy_and_allows_publishable_keys()
    {
        var other = await host.NewAccountAsync("Pricing");
        var client = host.Client(other.TestSecretKey);
        await client.Post("/v1/features", new { id = "api_calls", name = "API calls", type = "metered" });
        await client.Post("/v1/products", new
        {
            id = "pro_usd", name = "Pro",
            prices = new object[]
            {
                new { type = "recurring", amount = 2000, currency = "usd", interval = "month" },
                new { type = "usage", feature_id = "api_calls", currency = "usd", model = "per_unit", unit_amount_decimal = "0.01" },
            },
            features = new[] { new { feature_id = "api_calls", included = 10000, overage = "billed" } },
        });
        await client.Post("/v1/products", new { id = "pro_eur", name = "Pro EU", prices = new[] { new { type = "recurring", amount = 1550, currency = "eur", interval = "month" } } });
        await client.Post("/v1/products", new { id = "pro_jpy", name = "Pro JP", prices = new[] { new { type = "recurring", amount = 2000, currency = "jpy", interval = "month" } } });
        await client.Post("/v1/products", new { id = "pro_year", name = "Pro yearly", prices = new[] { new { type = "recurring", amount = 20000, currency = "usd", interval = "year" } } });

        var table = await host.Client(other.TestPublishableKey).Get("/v1/pricing_table");
        Assert.Equal(HttpStatusCode.OK, table.Status);
        var items = table.Body!["data"]!.AsArray().ToDictionary(i => (string)i!["product_id"]!);
        Assert.Equal(["pro_usd", "pro_eur", "pro_jpy", "pro_year"], items.Keys.ToArray());
        Assert.Equal("$20 / month", (string?)items["pro_usd"]!["prices"]![0]!["display"]);
        Assert.Equal("$0.10 per 1,000 api_calls", (string?)items["pro_usd"]!["prices"]![1]!["display"]);
        Assert.Equal("10,000 api_calls / month", (string?)items["pro_usd"]!["features"]![0]!["display"]);
        Assert.Equal("€15.50 / month", (string?)items["pro_eur"]!["prices"]![0]!["display"]);
        Assert.Equal("¥2,000 / month", (string?)items["pro_jpy"]!["prices"]![0]!["display"]);
        Assert.Equal("$200 / year", (string?)items["pro_year"]!["prices"]![0]!["display"]);
        Assert.Null(items["pro_usd"]!["scenario"]);
    }

    [Fact]
    public async Task Pricing_table_scenarios_follow_the_customers_subscriptions()
    {
        var other = await host.NewAccountAsync("Scenarios");
        var client = host.Client(other.TestSecretKey);
        foreach (var (id, amount) in new[] { ("basic", 1000), ("pro", 2000), ("team", 5000) })
            await client.Post("/v1/products", new { id, name = id, group = "main", prices = new[] { new { type = "recurring", amount, currency = "usd", interval = "month" } } });
        await client.Post("/v1/products", new { id = "addon", name = "Add-on", is_add_on = true, prices = new[] { new { type = "recurring", amount = 500, currency = "usd", interval = "month" } } });
        await client.Put("/v1/customers/c1", new { name = "C" });
        var sql = host.Engine == "postgres"
            ? "INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, cancel_at_period_end, paused, scheduled_product_id, created_at) VALUES (@a, FALSE, @id, 'c1', @p, 1, @s, 1, FALSE, FALSE, @sp, 0)"
            : "INSERT INTO subscriptions (account_id, livemode, id, customer_id, product_id, product_version, status, quantity, cancel_at_period_end, paused, scheduled_product_id, created_at) VALUES (@a, 0, @id, 'c1', @p, 1, @s, 1, 0, 0, @sp, 0)";
        await host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            return await session.Connection.ExecuteAsync(sql, new { a = other.AccountId, id = "sub_1", p = "pro", s = "active", sp = "basic" }, session.Transaction);
        });
        var table = await host.Client(other.TestPublishableKey).Get("/v1/pricing_table?customer_id=c1");
        var scenarios = table.Body!["data"]!.AsArray().ToDictionary(i => (string)i!["product_id"]!, i => (string?)i!["scenario"]);
        Assert.Equal("scheduled", scenarios["basic"]);
        Assert.Equal("active", scenarios["pro"]);
        Assert.Equal("upgrade", scenarios["team"]);
        Assert.Equal("new", scenarios["addon"]);
        (await host.Client(other.TestPublishableKey).Get("/v1/pricing_table?customer_id=nobody")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client(other.TestPublishableKey).Get("/v1/products")).AssertError(HttpStatusCode.Forbidden, "permission_error", "key_not_allowed");
    }
}

public sealed class CatalogTestsSqlite(SqliteHost host) : CatalogTests(host), IClassFixture<SqliteHost>;

public sealed class CatalogTestsPostgres(PostgresHost host) : CatalogTests(host), IClassFixture<PostgresHost>;
