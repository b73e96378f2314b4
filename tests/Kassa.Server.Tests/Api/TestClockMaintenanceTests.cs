using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Workers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 12 item 6: advancing a test clock runs its customers' lock expiries, credit-grant expiries and
/// balance resets at the clock instant each falls due, in time order — not at the real time of the
/// next request, and never at the server's real time. Both engines.
/// </summary>
public abstract class TestClockMaintenanceTests(KassaHost host)
{
    private const string Frozen = "2028-03-10T12:00:00Z";

    private static DateTimeOffset At(string t) => DateTimeOffset.Parse(t, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Advancing_past_a_locks_expiry_releases_its_hold_at_the_clock_instant_it_expired_and_grants_expire_in_time_order()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        var clock = (string)(await c.Post("/v1/test_clocks", new { name = "locks", frozen_time = Frozen })).Body!["id"]!;
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/customers", new { id = customer, name = "Ada", test_clock_id = clock })).Status);
        var feature = Wire.NewId("calls");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        var product = Wire.NewId("free");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Free", features = new[] { new { feature_id = feature, included = 100, reset = "month", overage = "blocked" } },
        })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        // A promotional grant of 10 that expires 90 minutes in, between the lock's expiry and the end of the advance.
        var grant = await c.Post("/v1/credit_grants", new
        {
            customer_id = customer, feature_id = feature, amount = 10, category = "promotional", expires_at = "2028-03-10T13:30:00Z",
        });
        Assert.True(grant.Status == HttpStatusCode.Created, grant.Body?.ToJsonString());

        // Hold 40 for one hour of the clock's time (the grant, priority 10, is drawn after the plan's allowance).
        var check = await c.Post("/v1/check", new
        {
            customer_id = customer, feature_id = feature, required_balance = 40, @lock = new { enabled = true, expires_at = "2028-03-10T13:00:00Z" },
        });
        Assert.True(check.Status == HttpStatusCode.OK && (bool)check.Body!["allowed"]!, check.Body?.ToJsonString());
        var lockId = (string)check.Body!["lock_id"]!;
        var held = await BalanceAsync(c, customer, feature);
        Assert.True((40m, 70m) == ((decimal)held["held"]!, (decimal)held["remaining"]!), held.ToJsonString() + check.Body!.ToJsonString());

        var advanced = await c.Post($"/v1/test_clocks/{clock}/advance", new { to = "2028-03-10T14:00:00Z" });
        Assert.True(advanced.Status == HttpStatusCode.OK, advanced.Body?.ToJsonString());

        // The hold is back in the balance, and the grant has expired: 100 remain of the plan's allowance.
        var after = await BalanceAsync(c, customer, feature);
        Assert.Equal((0m, 100m, 100m), ((decimal)after["held"]!, (decimal)after["remaining"]!, (decimal)after["granted"]!));
        // The advance itself expired them, each at the clock instant it fell due and in that order.
        var expired = await c.Get($"/v1/events?type=lock.expired&object_id={lockId}");
        var lockEvent = Assert.Single(expired.Body!["data"]!.AsArray())!;
        Assert.Equal(At("2028-03-10T13:00:00Z"), At((string)lockEvent["created_at"]!));
        var grantEvent = Assert.Single((await c.Get($"/v1/events?type=credit_grant.expired&object_id={(string)grant.Body!["id"]!}")).Body!["data"]!.AsArray())!;
        Assert.Equal(At("2028-03-10T13:30:00Z"), At((string)grantEvent["created_at"]!));
        // An expired lock cannot be confirmed any more.
        (await c.Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
    }

    [Fact]
    public async Task Real_time_maintenance_leaves_a_clock_customers_lock_alone_even_when_the_clock_is_behind_real_time()
    {
        var c = host.Client((await host.NewAccountAsync()).TestSecretKey);
        // The clock is years behind the server's time: its customer's lock expires in the clock's hour, not now.
        var clock = (string)(await c.Post("/v1/test_clocks", new { name = "behind", frozen_time = "2020-01-01T00:00:00Z" })).Body!["id"]!;
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/customers", new { id = customer, name = "Ada", test_clock_id = clock })).Status);
        var feature = Wire.NewId("calls");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        var product = Wire.NewId("free");
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/products", new
        {
            id = product, name = "Free", features = new[] { new { feature_id = feature, included = 100, reset = "month", overage = "blocked" } },
        })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        var check = await c.Post("/v1/check", new
        {
            customer_id = customer, feature_id = feature, required_balance = 40, @lock = new { enabled = true, expires_at = "2020-01-01T01:00:00Z" },
        });
        Assert.True(check.Status == HttpStatusCode.OK && (bool)check.Body!["allowed"]!, check.Body?.ToJsonString());
        var lockId = (string)check.Body!["lock_id"]!;

        // A real-time maintenance round (its own engine, so the round is known to have run).
        var engine = new BalanceEngine(host.Store, host.Clock, new GroupCommitFaults());
        using var stop = new CancellationTokenSource();
        var loops = engine.RunAsync(stop.Token);
        await new BalanceMaintenanceWorker(host.Store, engine, host.Clock, NullLogger<BalanceMaintenanceWorker>.Instance).RunOnceAsync(CancellationToken.None);
        await stop.CancelAsync();
        await loops;

        var balance = await BalanceAsync(c, customer, feature);
        Assert.Equal((40m, 60m), ((decimal)balance["held"]!, (decimal)balance["remaining"]!));
        var confirmed = await c.Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" });
        Assert.True(confirmed.Status == HttpStatusCode.OK, confirmed.Body?.ToJsonString());
        Assert.Equal("confirmed", (string?)confirmed.Body!["lock"]!["status"]);
        Assert.Empty((await c.Get($"/v1/events?type=lock.expired&object_id={lockId}")).Body!["data"]!.AsArray());
    }

    private static async Task<JsonNode> BalanceAsync(HttpClient c, string customer, string feature)
    {
        var r = await c.Get($"/v1/customers/{customer}/balances");
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        return r.Body!["data"]!.AsArray().Single(b => (string?)b!["feature_id"] == feature)!;
    }
}

public sealed class TestClockMaintenanceTestsSqlite(SqliteHost host) : TestClockMaintenanceTests(host), IClassFixture<SqliteHost>;

public sealed class TestClockMaintenanceTestsPostgres(PostgresHost host) : TestClockMaintenanceTests(host), IClassFixture<PostgresHost>;
