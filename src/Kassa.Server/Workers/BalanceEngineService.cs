using Kassa.Engine.Balances;

namespace Kassa.Server.Workers;

/// <summary>Runs the balance engine's writer loop for the life of the process.</summary>
public sealed class BalanceEngineService(BalanceEngine engine) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => engine.RunAsync(stoppingToken);
}

/// <summary>Runs the meter event group-commit loops for the life of the process.</summary>
public sealed class IngestQueueService(Kassa.Engine.Metering.IngestQueue queue) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => queue.RunAsync(stoppingToken);
}

/// <summary>
/// Releases held locks past their expiry and applies ended periods and expired buckets even when
/// nobody touches the balance (reads and writes also do it lazily). Each expiry goes through the engine, so it serialises with every other
/// change of that balance; several nodes may queue the same lock, and the second finds it expired.
/// </summary>
public sealed class LockExpiryWorker(Kassa.Engine.Storage.IKassaStore store, BalanceEngine engine, TimeProvider time, ILogger<LockExpiryWorker> logger)
    : BackgroundService
{
    public const int BatchSizeMax = 500;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = time.GetUtcNow();
                var due = await store.ReadAsync(s => s.Balances.ExpiredLocksAsync(now, BatchSizeMax), stoppingToken);
                var ops = due.Select(l => (BalanceOp)new ExpireLockOp(new Kassa.Engine.Common.Tenant(l.AccountId, l.Livemode), "req_lock_expiry", now, l.Id)).ToList();
                // Scheduled resets and expiries: balances nobody touches still roll over, expire and emit their events on time.
                var maintain = await store.ReadAsync(s => s.Balances.DueForMaintenanceAsync(now, BatchSizeMax), stoppingToken);
                ops.AddRange(maintain.Select(m => new MaintainOp(m.Tenant, "req_maintenance", now, m.CustomerId)));
                foreach (var op in ops)
                {
                    if (!engine.TryEnqueue(op)) break;
                }
                foreach (var op in ops)
                {
                    switch (op)
                    {
                        case ExpireLockOp e: await e.Completion; break;
                        case MaintainOp m: await m.Completion; break;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "expiring locks failed; retrying in {Interval}", Interval);
            }
        }
    }
}
