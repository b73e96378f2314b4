using System.Net;
using System.Net.Http.Headers;
using Kassa.Server.Tests.Cli;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// One timestamp rule everywhere (bodies, nested fields, query filters, meter events): RFC 3339 with
/// <c>Z</c> or an offset, else 400 <c>validation_failed</c> naming the field. Runs on both engines, in
/// process and against a real server whose time zone is New York (where a time without an offset used
/// to be read as New York time).
/// </summary>
public abstract class TimestampTests(KassaHost host)
{
    [Fact]
    public Task A_time_without_an_offset_is_refused_naming_the_field_and_offsets_store_the_right_instant() =>
        TimestampRule.AssertAsync(host.Client());
}

public sealed class TimestampTestsSqlite(SqliteHost host) : TimestampTests(host), IClassFixture<SqliteHost>;

public sealed class TimestampTestsPostgres(PostgresHost host) : TimestampTests(host), IClassFixture<PostgresHost>;

/// <summary>The same rule against a real <c>kassa serve</c> started with <c>TZ=America/New_York</c>.</summary>
public sealed class TimestampProcessTests : IDisposable
{
    private readonly TempFolder _temp = new("kassa-timestamp-tests");

    public void Dispose() => _temp.Dispose();

    public static IEnumerable<TheoryDataRow<string>> Engines() => [new("sqlite"), new("postgres")];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_server_in_New_York_refuses_local_times_and_stores_offsets_as_the_right_instant(string engine)
    {
        await using var database = await ProcessDatabase.CreateAsync(engine, _temp.SqliteDb);
        var db = database.ConnectionString;
        await using var server = await ServerProcess.StartAsync(db!, new Dictionary<string, string>
        {
            ["KASSA_BOOTSTRAP_KEY"] = KassaHost.BootstrapKey,
            ["TZ"] = "America/New_York",
        });
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KassaHost.BootstrapKey);
        await TimestampRule.AssertAsync(http);
    }
}

public static class TimestampRule
{
    private const string Local = "2030-01-01T12:00:00";

    public static async Task AssertAsync(HttpClient client)
    {
        var feature = "ts_" + Guid.NewGuid().ToString("N")[..12];
        Assert.Equal(HttpStatusCode.Created, (await client.Post("/v1/features", new { id = feature, name = "T", type = "metered" })).Status);
        var customer = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await client.Put($"/v1/customers/{customer}", new { name = "T" })).Status);

        // A top-level field: a local time, a bare date and a time with an offset but no seconds are refused.
        foreach (var bad in new[] { Local, "2030-01-01", "2030-01-01T12:00+02:00", "2030-01-01 12:00:00Z", "1893456000" })
        {
            var refused = await client.Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 1, category = "paid", expires_at = bad });
            var error = refused.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "expires_at");
            Assert.Contains("Z or an offset", (string)error["message"]!);
        }
        // A nested field and another endpoint.
        (await client.Post("/v1/check", new { customer_id = customer, feature_id = feature, required_balance = 1, @lock = new { enabled = true, expires_at = Local } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "lock.expires_at");
        (await client.Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 1, timestamp = Local }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "timestamp");
        // Meter events and query filters follow the same rule.
        // (A meter event's refusal names the field in its message only: its validator reports no param.)
        var meterEvent = (await client.Post("/v1/meter_events", new { id = Wire.NewId("ev"), event_name = "ts.test", customer_id = customer, timestamp = Local }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        Assert.StartsWith("timestamp must be an RFC 3339 timestamp with an offset", (string)meterEvent["message"]!);
        (await client.Get($"/v1/audit_events?from={Local}"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");

        // Z and an offset name one instant each, stored and answered in UTC whatever the server's zone.
        var withOffset = await client.Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 1, category = "paid", expires_at = Local + "+02:00" });
        Assert.Equal(HttpStatusCode.Created, withOffset.Status);
        Assert.Equal("2030-01-01T10:00:00Z", (string?)withOffset.Body!["expires_at"]);
        var withZ = await client.Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 1, category = "paid", expires_at = Local + "Z" });
        Assert.Equal(HttpStatusCode.Created, withZ.Status);
        Assert.Equal("2030-01-01T12:00:00Z", (string?)withZ.Body!["expires_at"]);
        var stored = (await client.Get($"/v1/credit_grants?customer_id={customer}")).Body!["data"]!.AsArray()
            .ToDictionary(g => (string)g!["id"]!, g => (string?)g!["expires_at"]);
        Assert.Equal(2, stored.Count);
        Assert.Equal("2030-01-01T10:00:00Z", stored[(string)withOffset.Body!["id"]!]);
        Assert.Equal("2030-01-01T12:00:00Z", stored[(string)withZ.Body!["id"]!]);
    }
}
