using System.Diagnostics;
using Kassa.Engine.Storage;
using Kassa.Engine.Telemetry;

namespace Kassa.Server.Telemetry;

/// <summary>
/// The webhook backlog for <c>kassa.webhook.events.undispatched</c> and <c>kassa.webhook.deliveries.pending</c>.
/// A scrape never waits on the database and never loads it: the gauge answers the last count, and when
/// that count is older than <see cref="TelemetryOptions.BacklogRefreshInterval"/> (15 s) it starts one
/// recount in the background (never two at once). Each count reads a partial index and stops at
/// <see cref="CountCap"/>, so even a huge backlog costs a bounded read at most every 15 s, however often
/// Prometheus or OTLP collect.
/// </summary>
public sealed class BacklogGauge(IKassaStore store, Kassa.Server.Hosting.KassaOptions options, ILogger<BacklogGauge> logger)
{
    private readonly TimeSpan _refreshInterval = options.Telemetry.BacklogRefreshInterval;

    /// <summary>Counts stop here: past it the backlog is "very large", and an exact figure is not worth a long scan.</summary>
    public const int CountCap = 100_000;

    private KassaMeters.BacklogReading? _last;
    private long _lastStarted = long.MinValue;
    private int _refreshing;

    /// <summary>The last count (null until the first one finished); starts a recount when it is stale.</summary>
    public KassaMeters.BacklogReading? Read()
    {
        var now = Stopwatch.GetTimestamp();
        if ((_lastStarted == long.MinValue || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastStarted), now) >= _refreshInterval)
            && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            Volatile.Write(ref _lastStarted, now);
            _ = Task.Run(RefreshAsync);
        }
        return Volatile.Read(ref _last);
    }

    private async Task RefreshAsync()
    {
        try
        {
            var reading = await store.ReadAsync(async s =>
                new KassaMeters.BacklogReading(await s.Backlog.UndispatchedEventsAsync(CountCap), await s.Backlog.PendingDeliveriesAsync(CountCap)));
            Volatile.Write(ref _last, reading);
        }
        catch (Exception e)
        {
            // A failed count leaves the last figure in place; the next stale scrape tries again.
            logger.LogDebug(e, "counting the webhook backlog for metrics failed");
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }
}
