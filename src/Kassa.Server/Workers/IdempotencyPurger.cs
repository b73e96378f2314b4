using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// Deletes expired idempotency records in bounded batches, so the table holds about one day of
/// keys, and forgets track/check keys older than 30 days. Safe on several nodes: each batch is a
/// plain conditional statement.
/// </summary>
public sealed class IdempotencyPurger(IKassaStore store, TimeProvider time, ILogger<IdempotencyPurger> logger) : BackgroundService
{
    public const int BatchSizeMax = 1_000;
    public const int BatchesPerRunMax = 100;
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                for (var batch = 0; batch < BatchesPerRunMax; batch++)
                {
                    var deleted = await store.WriteAsync(s => s.Idempotency.PurgeExpiredAsync(time.GetUtcNow(), BatchSizeMax), ct: stoppingToken);
                    if (deleted < BatchSizeMax) break;
                }
                // Track and check keys are remembered for 30 days per customer; the usage itself stays.
                var cutoff = time.GetUtcNow() - Kassa.Engine.Balances.ApplyBalanceBatch.IdempotencyRetention;
                for (var batch = 0; batch < BatchesPerRunMax; batch++)
                {
                    var released = await store.WriteAsync(s => s.Balances.ReleaseIdempotencyKeysOlderThanAsync(cutoff, BatchSizeMax), ct: stoppingToken);
                    if (released < BatchSizeMax) break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "purging expired idempotency keys failed; will retry in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
