using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Scheduled maintenance: balances nobody touches still reset, roll over and expire on time. Both engines.</summary>
public abstract class BalanceMaintenanceTests(KassaHost host)
{
    [Fact]
    public async Task An_untouched_balance_resets_with_rollover_and_its_grant_expires_with_an_event()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var (feature, product, customer) = ($"calls_{suffix}", $"plan_{suffix}", $"idle_{suffix}");
        await host.Client().Post("/v1/features", new { id = feature, name = "Calls", type = "metered" });
        await host.Client().Post("/v1/products", new { id = product, name = "Plan", features = new[] { new { feature_id = feature, included = 100, reset = "month", rollover = new { max = 30 } } } });
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Idle" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 60 });
        var grant = await host.Client().Post("/v1/credit_grants", new
        {
            customer_id = customer, feature_id = feature, amount = 20, category = "promotional", expires_at = host.Clock.GetUtcNow().AddHours(1),
        });
        var grantId = (string)grant.Body!["id"]!;

        host.Clock.Advance(TimeSpan.FromDays(32));
        // No request touches the balance: the maintenance worker must find it.
        await WebhookHostSettings.WaitUntil(host, () =>
            host.Client().Get($"/v1/events?type=credit_grant.expired&object_id={grantId}").Result.Body!["data"]!.AsArray().Count == 1, TimeSpan.FromSeconds(30));

        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={customer}&feature_id={feature}&limit=100")).Body!["data"]!.AsArray();
        var maintenance = log.Where(t => (string?)t!["source"]?["type"] == "maintenance").ToList();
        Assert.Contains(maintenance, t => (string?)t!["type"] == "expire" && (decimal)t["amount"]! == 40m);
        Assert.Contains(maintenance, t => (string?)t!["type"] == "expire" && (decimal)t["amount"]! == 20m && (string?)t["bucket"] == grantId);
        Assert.Contains(maintenance, t => (string?)t!["type"] == "grant" && (decimal)t["amount"]! == 30m);
        Assert.Contains(maintenance, t => (string?)t!["type"] == "grant" && (decimal)t["amount"]! == 100m);

        var check = await host.Client().Post("/v1/check", new { customer_id = customer, feature_id = feature });
        var balance = check.Body!["balance"]!;
        Assert.Equal((130m, 0m, 130m), ((decimal)balance["granted"]!, (decimal)balance["used"]!, (decimal)balance["remaining"]!));
    }
}

public sealed class BalanceMaintenanceTestsSqlite(SqliteWebhookHost host) : BalanceMaintenanceTests(host), IClassFixture<SqliteWebhookHost>;

public sealed class BalanceMaintenanceTestsPostgres(PostgresWebhookHost host) : BalanceMaintenanceTests(host), IClassFixture<PostgresWebhookHost>;
