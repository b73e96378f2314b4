using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// Releases held locks past their expiry and applies ended periods and expired buckets even when
/// nobody touches the balance (reads and writes also do it lazily). Each change goes through the
/// balance engine, so it serialises with every other change of that balance; several nodes may queue
/// the same lock, and the second finds it expired.
/// </summary>
public sealed class BalanceMaintenanceWorker(IKassaStore store, BalanceEngine engine, TimeProvider time, ILogger<BalanceMaintenanceWorker> logger)
    : BackgroundService
{
    public const int BatchSizeMax = 500;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one round waits for the operations it queued. The engine answers every accepted
    /// operation, but a round must end whatever happens: the next round finds what is still due.
    /// </summary>
    public static readonly TimeSpan RoundWaitMax = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "balance maintenance round failed; retrying in {Interval}", Interval);
            }
        }
    }

    /// <summary>
    /// One round: queues what is due (expired locks, ended periods, expired buckets) until the engine's
    /// queue is full, and waits only for what the queue accepted. Returns how many operations it queued.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var due = await store.ReadAsync(s => s.Balances.ExpiredLocksAsync(now, BatchSizeMax), ct);
        var ops = due.Select(l => (BalanceOp)new ExpireLockOp(new Tenant(l.AccountId, l.Livemode), "req_lock_expiry", now, l.Id)).ToList();
        var maintain = await store.ReadAsync(s => s.Balances.DueForMaintenanceAsync(now, BatchSizeMax), ct);
        ops.AddRange(maintain.Select(m => new MaintainOp(m.Tenant, "req_maintenance", now, m.CustomerId)));

        var accepted = new List<Task>(ops.Count);
        foreach (var op in ops)
        {
            // A full queue is back-pressure: stop here, the next round picks up the rest.
            if (!engine.TryEnqueue(op)) break;
            accepted.Add(op switch
            {
                ExpireLockOp e => e.Completion,
                MaintainOp m => m.Completion,
                _ => Task.CompletedTask,
            });
        }
        if (accepted.Count < ops.Count)
            logger.LogInformation("balance engine queue full: queued {Accepted} of {Due} due maintenance operations, the rest waits for the next round", accepted.Count, ops.Count);
        try
        {
            await Task.WhenAll(accepted).WaitAsync(RoundWaitMax, ct);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("balance maintenance: {Count} queued operations were not answered within {Wait}; continuing", accepted.Count, RoundWaitMax);
        }
        return accepted.Count;
    }
}
