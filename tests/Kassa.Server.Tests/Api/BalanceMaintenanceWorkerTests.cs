using System.Net;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Workers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The maintenance worker against a full balance-engine queue: it queues what fits, waits only for
/// that, and a later round finishes the rest — it never waits for work it could not queue. Both engines.
/// </summary>
public abstract class BalanceMaintenanceWorkerTests(KassaHost host)
{
    [Fact]
    public async Task With_the_engine_queue_full_a_round_returns_and_a_later_round_expires_the_lock()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var (feature, product, customer) = ($"calls_{suffix}", $"plan_{suffix}", $"held_{suffix}");
        await host.Client().Post("/v1/features", new { id = feature, name = "Calls", type = "metered" });
        await host.Client().Post("/v1/products", new { id = product, name = "Plan", features = new[] { new { feature_id = feature, included = 100, reset = "month" } } });
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Held" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        var check = await host.Client().Post("/v1/check", new
        {
            customer_id = customer, feature_id = feature, required_balance = 40, @lock = new { enabled = true, expires_at = host.Clock.GetUtcNow().AddMinutes(1) },
        });
        var lockId = (string)check.Body!["lock_id"]!;
        Assert.Equal(40m, (decimal)check.Body!["balance"]!["held"]!);
        host.Clock.Advance(TimeSpan.FromMinutes(2));

        // An engine of the test's own over the same database, its loops not started: its queue fills and stays full.
        var engine = new BalanceEngine(host.Store, host.Clock, new GroupCommitFaults());
        var tenant = new Tenant(host.Account.AccountId, false);
        var queued = 0;
        for (int i = 0, refusedInARow = 0; refusedInARow < 200 && i < 100_000; i++)
        {
            if (engine.TryEnqueue(new MaintainOp(tenant, "req_fill", host.Clock.GetUtcNow(), $"fill_{i}"))) { queued++; refusedInARow = 0; }
            else refusedInARow++;
        }
        Assert.Equal(BalanceEngine.QueueCapacity, queued);
        var worker = new BalanceMaintenanceWorker(host.Store, engine, host.Clock, NullLogger<BalanceMaintenanceWorker>.Instance);

        // Nothing fits: the round must end at once (it used to wait for the operations it never queued).
        Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

        using var stop = new CancellationTokenSource();
        var loops = engine.RunAsync(stop.Token);
        for (var round = 0; round < 50 && engine.QueueLength > 0; round++) await Task.Delay(100);
        // Exactly the one due operation: the expired lock (the fill customers have no balances to maintain).
        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        await loops;

        var balance = (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray().Single(b => (string?)b!["feature_id"] == feature)!;
        Assert.Equal((0m, 100m), ((decimal)balance["held"]!, (decimal)balance["remaining"]!));
        (await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
    }
}

public sealed class BalanceMaintenanceWorkerTestsSqlite(SqliteHost host) : BalanceMaintenanceWorkerTests(host), IClassFixture<SqliteHost>;

public sealed class BalanceMaintenanceWorkerTestsPostgres(PostgresHost host) : BalanceMaintenanceWorkerTests(host), IClassFixture<PostgresHost>;
