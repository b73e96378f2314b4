using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// Deletes what is kept only for a while, in bounded batches: expired idempotency records (the
/// table holds about one day of keys), track/check keys older than 30 days, and group-commit
/// markers older than a day (an unknown commit outcome is settled within seconds). Safe on several
/// nodes: each batch is a plain conditional statement.
/// </summary>
public sealed class ExpiredRecordPurgeWorker(IKassaStore store, TimeProvider time, ILogger<ExpiredRecordPurgeWorker> logger) : BackgroundService
{
    public const int BatchSizeMax = 1_000;
    public const int BatchesPerRunMax = 100;
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan GroupCommitMarkerRetention = TimeSpan.FromDays(1);

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
                var markersBefore = time.GetUtcNow() - GroupCommitMarkerRetention;
                for (var batch = 0; batch < BatchesPerRunMax; batch++)
                {
                    var purged = await store.WriteAsync(s => s.GroupCommits.PurgeAsync(markersBefore, BatchSizeMax), ct: stoppingToken);
                    if (purged < BatchSizeMax) break;
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: the store may be closing under a purge already under way (an ObjectDisposedException
                // was logged as a failure at every shutdown); what is left is purged after the next start.
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "purging expired records failed; will retry in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
