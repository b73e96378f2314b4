using Kassa.Engine.Balances;
using Kassa.Engine.Metering;
using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// The roller's loop (<see cref="RollMeterEvents"/>, ADR 0006): every <see cref="Interval"/> it folds the
/// committed meter events behind the watermark into the hourly rollups, chunk after chunk while chunks come
/// back full (<see cref="RollMeterEvents.ChunkEventsMax"/> events), at most <see cref="ChunksPerRound"/> a round so one round never holds the database for long.
/// Every process runs it; the watermark row lock makes them take turns, so each event is folded once.
/// Usage queries are exact whether or not it keeps up: the lag only decides how many raw events they read.
/// </summary>
public sealed class MeterRollupWorker(IKassaStore store, TimeProvider time, ILogger<MeterRollupWorker> logger) : BackgroundService
{
    /// <summary>Short, so the raw tail a usage query reads stays a fraction of a second of ingest.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    public const int ChunksPerRound = 50;

    /// <summary>How often the lag behind the gauge <c>kassa.meter.roller.lag</c> is read from the database (a scrape only reads the cached value).</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(5);

    /// <summary>Events counted at most when reading the status: the count reads the unrolled tail, which is bounded only by ingest.</summary>
    public const int StatusCountMax = 100_000;

    private long _lagTicks = -1;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Each on a thread of its own at a lower priority: they yield to the request paths when the cores are short.
        var rolling = LowPriorityThread.Run("kassa-meter-roller", () => RollAsync(stoppingToken));
        // SQLite: the event indexer beside the roller, each with its own file and lock (ADR 0006), so they overlap.
        return store.Engine == "sqlite" ? Task.WhenAll(rolling, LowPriorityThread.Run("kassa-event-indexer", () => IndexAsync(stoppingToken))) : rolling;
    }

    /// <summary>The index file's loop (SQLite): event passes, then credit movement passes, each while they come back full (at most <see cref="ChunksPerRound"/>), then the next tick.</summary>
    private async Task IndexAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        long lagTicks = -1;
        using var gauge = Kassa.Engine.Telemetry.KassaMeters.ReportMeterIndexerLag(() =>
            Interlocked.Read(ref lagTicks) is var t and >= 0 ? TimeSpan.FromTicks(t) : null);
        var nextStatus = time.GetTimestamp();
        var nextCredit = time.GetTimestamp();
        do
        {
            // Before the round's passes, as for the roller: right after them the backlog is empty whenever it keeps up.
            if (time.GetElapsedTime(nextStatus) >= TimeSpan.Zero)
            {
                nextStatus = time.GetTimestamp() + (long)(StatusInterval.TotalSeconds * time.TimestampFrequency);
                try
                {
                    Interlocked.Exchange(ref lagTicks, (await store.ReadAsync(s => s.Metering.IndexerLagAsync(), stoppingToken)).Ticks);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug(e, "reading the event indexer's lag failed");
                }
            }
            try
            {
                for (var pass = 0; pass < ChunksPerRound && !stoppingToken.IsCancellationRequested; pass++)
                {
                    if (!await IndexMeterEvents.IndexOnceAsync(store, time, stoppingToken)) break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "meter event index pass failed; retrying in {Interval}", Interval);
            }
            // The credit movements' customer order lives in the same file (ADR 0018): its passes take turns with the
            // events' on this thread rather than waiting for the file's lock on another, every IndexCreditTransactions.Interval.
            try
            {
                if (time.GetElapsedTime(nextCredit) >= TimeSpan.Zero)
                {
                    nextCredit = time.GetTimestamp() + (long)(IndexCreditTransactions.Interval.TotalSeconds * time.TimestampFrequency);
                    for (var pass = 0; pass < ChunksPerRound && !stoppingToken.IsCancellationRequested; pass++)
                    {
                        if (!await IndexCreditTransactions.IndexOnceAsync(store, time, stoppingToken)) break;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "credit transaction index pass failed; retrying in {Interval}", IndexCreditTransactions.Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RollAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        using var gauge = Kassa.Engine.Telemetry.KassaMeters.ReportMeterRollerLag(() =>
            Interlocked.Read(ref _lagTicks) is var t and >= 0 ? TimeSpan.FromTicks(t) : null);
        var nextStatus = time.GetTimestamp();
        do
        {
            await RefreshStatusAsync();
            try
            {
                // Stopping is checked between rolls: a round behind a backlog is up to 50 rolls of ~1 s each, and a
                // server asked to stop waited for all of them before it exited.
                for (var chunk = 0; chunk < ChunksPerRound && !stoppingToken.IsCancellationRequested; chunk++)
                {
                    if (!await RollOnceAsync(stoppingToken)) break;
                    // Between rolls too: a round behind a backlog lasts minutes, and the gauge repeated one value all along.
                    await RefreshStatusAsync();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "meter roll failed; retrying in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));

        // Read before the round's rolls, not after: right after them the backlog is empty whenever the
        // roller keeps up, so a gauge read there said 0 s while a read from outside saw 0.5-2 s.
        async Task RefreshStatusAsync()
        {
            if (time.GetElapsedTime(nextStatus) < TimeSpan.Zero) return;
            nextStatus = time.GetTimestamp() + (long)(StatusInterval.TotalSeconds * time.TimestampFrequency);
            try
            {
                var status = await store.ReadAsync(s => s.Metering.RollerStatusAsync(StatusCountMax), stoppingToken);
                Interlocked.Exchange(ref _lagTicks, status.Lag.Ticks);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogDebug(e, "reading the roller status failed");
            }
        }
    }

    private Task<bool> RollOnceAsync(CancellationToken ct) => RollMeterEvents.RollOnceAsync(store, time, ct);
}
