using System.Net;
using System.Text;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Thousands of malformed, oversized and strange requests: none may answer 5xx, and every 4xx must
/// carry the error envelope. Runs on both engines (PostgreSQL refuses NUL bytes and broken UTF-16 that
/// SQLite stores, so both must be exercised). Generated from a fixed seed so a failure reproduces.
/// </summary>
public abstract class HostileInputTests(KassaHost host)
{
    public const int RequestsMin = 3_000;

    private static readonly string[] Routes =
    [
        "POST /v1/customers", "PUT /v1/customers/{id}", "PATCH /v1/customers/{id}", "DELETE /v1/customers/{id}",
        "GET /v1/customers/{id}", "POST /v1/api_keys", "POST /v1/api_keys/{id}/revoke", "GET /v1/customers?{q}",
        "GET /v1/audit_events?{q}", "GET /v1/api_keys?{q}",
        "POST /v1/features", "PATCH /v1/features/{id}", "POST /v1/features/{id}/archive", "GET /v1/features/{id}",
        "POST /v1/products", "POST /v1/products/{id}", "POST /v1/products/{id}/archive", "GET /v1/products/{id}/versions",
        "GET /v1/pricing_table?{q}", "GET /v1/pricing_table?customer_id={id}", "GET /v1/events?{q}", "GET /v1/events/{id}",
        "POST /v1/events/{id}/resend", "POST /v1/webhook_endpoints", "PATCH /v1/webhook_endpoints/{id}",
        "GET /v1/webhook_endpoints/{id}/deliveries?{q}", "POST /v1/check", "POST /v1/track", "POST /v1/locks/{id}/finalize",
        "POST /v1/credit_grants", "POST /v1/credit_grants/{id}/void", "GET /v1/credit_grants/summary?customer_id={id}",
        "GET /v1/credit_transactions?{q}", "GET /v1/customers/{id}/balances", "POST /v1/subscribe",
    ];

    private static readonly string[] Bodies =
    [
        "", " ", "{", "}", "[]", "[{}]", "null", "true", "0", "-1", "\"str\"", "{}", "{\"\":\"\"}", "\uFEFF{}",
        "{\"id\":null}", "{\"id\":123}", "{\"id\":[]}", "{\"id\":{}}", "{\"id\":\"\\u0000\"}", "{\"id\":\"\\ud800\"}",
        "{\"name\":\"\\u0000\"}", "{\"name\":\"\\ud800x\"}", "{\"name\":\"\\udfff\"}", "{\"email\":\"a@b\\u0000c\"}",
        "{\"metadata\":{\"\\u0000\":\"v\"}}", "{\"metadata\":{\"k\":\"\\u0000\"}}", "{\"metadata\":{\"k\":\"\\ud83d\"}}",
        "{\"metadata\":null}", "{\"metadata\":{\"k\":null}}", "{\"metadata\":{\"k\":{}}}", "{\"metadata\":\"x\"}",
        "{\"address\":{\"country\":\"\\u0000\\u0000\"}}", "{\"address\":{\"line1\":1e400}}", "{\"address\":[]}",
        "{\"name\":1e400}", "{\"name\":99999999999999999999999999999999}", "{\"name\":-0}", "{\"name\":NaN}",
        "{\"name\":Infinity}", "{\"name\":'single'}", "{name:\"unquoted\"}", "{\"name\":\"a\",}", "{\"name\":\"a\" \"b\"}",
        "{\"name\":\"tab\there\"}", "{\"type\":\"secret\",\"name\":[1]}", "{\"type\":1,\"name\":\"x\"}",
        "{\"type\":\"secret\",\"name\":\"x\",\"extra\":true}", "{\"name\":\"🚀💸\",\"email\":\"ü@ë.com\"}",
        "{\"name\":\"\u202Eevil\"}", "{\"id\":\"../../etc/passwd\"}", "{\"id\":\"' OR 1=1 --\"}", "{\"id\":\"a\\nb\"}",
        "{\"email\":\"@\"}", "{\"email\":\"a@@b\"}", "{\"name\":\"x\",\"name\":\"y\"}",
        // Catalog, entitlements and webhooks.
        "{\"id\":\"f\",\"name\":\"F\",\"type\":\"credit_system\",\"credit_schema\":[{\"feature_id\":null,\"credit_cost\":-1}]}",
        "{\"id\":\"p\",\"name\":\"P\",\"prices\":[{\"type\":\"usage\",\"model\":\"graduated\",\"tiers\":[{\"up_to\":1e30}]}]}",
        "{\"id\":\"p\",\"name\":\"P\",\"prices\":[{\"type\":\"usage\",\"unit_amount_decimal\":\"1e5\"}]}",
        "{\"id\":\"p\",\"name\":\"P\",\"prices\":[{\"type\":\"usage\",\"model\":\"package\",\"package_size\":0.0000001,\"amount\":9223372036854775807}]}",
        "{\"id\":\"p\",\"name\":\"P\",\"features\":[{\"feature_id\":\"x\",\"included\":\"lots\"}]}",
        "{\"id\":\"p\",\"name\":\"P\",\"features\":[{\"feature_id\":\"x\",\"included\":79228162514264337593543950335}]}",
        "{\"prices\":null,\"features\":[null]}", "{\"free_trial\":{\"days\":2147483647}}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"required_balance\":-1}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"required_balance\":99999999999999999999}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"value\":-9000000000000.000001}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"lock\":{\"enabled\":true,\"expires_at\":\"not a time\"}}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"send_event\":\"yes\"}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"timestamp\":\"9999-12-31T23:59:59Z\"}",
        "{\"action\":\"confirm\",\"override_value\":-1}", "{\"action\":\"release\",\"override_value\":1}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"amount\":1,\"category\":\"paid\",\"priority\":-5}",
        "{\"customer_id\":\"c\",\"feature_id\":\"f\",\"amount\":1,\"category\":\"paid\",\"expires_at\":\"2000-01-01T00:00:00Z\"}",
        "{\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":0}",
        "{\"url\":\"http://[::1]:99999/x\",\"events\":[\"*\"]}", "{\"url\":\"javascript:alert(1)\",\"events\":[\"*\"]}",
        "{\"url\":\"http://127.0.0.1/x\",\"events\":[null]}", "{\"disabled\":null}", "{\"endpoint_id\":null}",
    ];

    private static readonly string[] Ids =
    [
        // No %00 here: the in-memory test server cannot send it; Kestrel refuses it with 400 before
        // Kassa runs (checked over a real socket in the CLI tests).
        "x", "%ff", "%2F", "%252F", "..", "a%20b", "%E2%80%AE", "%F0%9F%9A%80", "%ED%A0%80", "null", "undefined",
        "cus_" + new string('A', 26), new string('z', 129), new string('z', 5000), "a:b@c.d-e_f", "%C0%AF", "[]", "{id}", "*",
    ];

    private static readonly string[] Queries =
    [
        "limit=0", "limit=1000000000000", "limit=-5", "limit=1.5", "limit=%00", "limit=", "limit=1&limit=2", "starting_after=",
        "starting_after=%00", "starting_after=" + new string('A', 5000), "starting_after=MTIzfA", "starting_after=fGFiYw",
        "starting_after=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OXx4", "starting_after=MXwA", "email=%00", "email=" + new string('e', 3000),
        "object_id=%00", "object_id=%ED%A0%80", "actor=%FF", "from=%00", "from=2026-13-45T99:99:99Z", "to=0", "from=-1",
        "from=9999-12-31T23:59:59Z", "to=0001-01-01T00:00:00Z", "email=a%40b.c&limit=100", "x=%ED%A0%80",
    ];

    private static readonly string?[] IdempotencyKeys = [null, null, null, "", " ", new string('k', 300), "k\u0001", "ключ", "k" + Guid.NewGuid()];

    private static readonly string?[] Authorizations = [null, null, null, null, null, null, "Bearer ", "Bearer sk_test_", "bearer x y z", "Bearer " + new string('a', 10_000)];

    private static string RandomBody(Random random)
    {
        switch (random.Next(6))
        {
            case 0:
                return Bodies[random.Next(Bodies.Length)];
            case 1:
                var bytes = new byte[random.Next(1, 200)];
                random.NextBytes(bytes);
                return Encoding.Latin1.GetString(bytes);
            case 2:
                var depth = random.Next(20, 5000);
                return new string('[', depth) + new string(']', depth);
            case 3:
                var valid = "{\"id\":\"" + Guid.NewGuid().ToString("N") + "\",\"name\":\"n\",\"metadata\":{\"a\":\"b\"},\"address\":{\"city\":\"c\"}}";
                return valid[..random.Next(valid.Length)];
            case 4:
                return "{\"name\":\"" + new string((char)random.Next(0x20, 0xD7FF), random.Next(1, 50_000)) + "\"}";
            default:
                return "{\"metadata\":{" + string.Join(",", Enumerable.Range(0, random.Next(45, 60)).Select(i => $"\"k{i}\":\"{new string('v', random.Next(400, 600))}\"")) + "}}";
        }
    }

    [Fact]
    public async Task Three_thousand_malformed_requests_produce_no_5xx()
    {
        var random = new Random(20261122);
        var failures = new List<string>();
        var sent = 0;
        var secret = host.Client();
        while (sent < RequestsMin)
        {
            var route = Routes[random.Next(Routes.Length)].Split(' ');
            var path = route[1].Replace("{id}", Ids[random.Next(Ids.Length)], StringComparison.Ordinal)
                .Replace("{q}", Queries[random.Next(Queries.Length)], StringComparison.Ordinal);
            using var request = new HttpRequestMessage(new HttpMethod(route[0]), path);
            if (route[0] != "GET" || random.Next(4) == 0)
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(RandomBody(random)));
            if (IdempotencyKeys[random.Next(IdempotencyKeys.Length)] is { } key) request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
            var client = secret;
            if (Authorizations[random.Next(Authorizations.Length)] is { } auth)
            {
                client = host.Client(key: null);
                client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", auth);
            }
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request);
            }
            catch (Exception e)
            {
                failures.Add($"{route[0]} {path}: client could not send ({e.GetType().Name})");
                sent++;
                continue;
            }
            sent++;
            var body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode >= 500)
                failures.Add($"{route[0]} {path} -> {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
            else if ((int)response.StatusCode >= 400 && !body.StartsWith("{\"error\":{", StringComparison.Ordinal))
                failures.Add($"{route[0]} {path} -> {(int)response.StatusCode} without the error envelope: {body[..Math.Min(body.Length, 200)]}");
        }
        Assert.True(sent >= RequestsMin);
        Assert.True(failures.Count == 0, $"{failures.Count} bad answers, first ones:\n" + string.Join("\n", failures.Distinct().Take(15)));
    }
}

public sealed class HostileInputTestsSqlite(SqliteHost host) : HostileInputTests(host), IClassFixture<SqliteHost>;

public sealed class HostileInputTestsPostgres(PostgresHost host) : HostileInputTests(host), IClassFixture<PostgresHost>;
