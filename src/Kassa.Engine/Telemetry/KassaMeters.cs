using System.Diagnostics;
using System.Diagnostics.Metrics;
using Kassa.Engine.Common;

namespace Kassa.Engine.Telemetry;

/// <summary>
/// Every instrument Kassa records, in one place: the meter <c>Kassa</c> and the activity source
/// <c>Kassa</c>. Names follow OpenTelemetry's conventions (dotted, lower case, the unit in the
/// instrument's unit, not its name); the Prometheus exporter turns <c>kassa.http.request.duration</c>
/// with unit <c>s</c> into <c>kassa_http_request_duration_seconds</c> and a counter into
/// <c>…_total</c>. docs/operations.md lists each one with its type, unit and labels.
/// <para>
/// The instruments are static, as the runtime's own are: a process has one balance engine and one
/// ingest queue. Recording costs nothing when no exporter listens, and the hot-path recorders below
/// take their tags from pre-built values (a <see cref="TagList"/> on the stack, boxed status codes
/// built once), so a request or a batch allocates nothing to be counted.
/// </para>
/// <para>
/// No label ever carries tenant data: routes are templates, loops and phases are fixed names.
/// </para>
/// </summary>
public static class KassaMeters
{
    public const string Name = "Kassa";

    public static readonly Meter Meter = new(Name, typeof(KassaMeters).Assembly.GetName().Version?.ToString(3));

    /// <summary>Spans of Kassa's own work (one per group-commit batch); nothing is created unless a tracer listens.</summary>
    public static readonly ActivitySource Source = new(Name, typeof(KassaMeters).Assembly.GetName().Version?.ToString(3));

    /// <summary>Latency bounds in seconds, chosen around the hot path's 1–20 ms targets (as /metrics had before).</summary>
    public static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Batch sizes: powers of two up to the largest batch either loop takes.</summary>
    public static readonly long[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    /// <summary>Renewal runs take seconds to minutes.</summary>
    public static readonly double[] RunSecondsBuckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

    public static readonly Counter<long> HttpRequests = Meter.CreateCounter<long>(
        "kassa.http.requests", "{request}", "HTTP requests answered, by method, route template and status.");

    public static readonly Histogram<double> HttpRequestDuration = Meter.CreateHistogram(
        "kassa.http.request.duration", "s", "Time from the first byte read to the last byte written, by method and route template.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Histogram<long> BatchSize = Meter.CreateHistogram(
        "kassa.group_commit.batch.size", "{item}", "Items committed together in one group-commit transaction, by loop.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchSizeBuckets });

    public static readonly Histogram<double> BatchDuration = Meter.CreateHistogram(
        "kassa.group_commit.batch.duration", "s", "Time to commit one batch and answer its items (retries and splits included), by loop.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Histogram<double> PhaseDuration = Meter.CreateHistogram(
        "kassa.group_commit.phase.duration", "s",
        "Time per batch in one phase: load, decide, persist (balance engine and ingest), commit and durable (every loop), by loop and phase.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Counter<long> OutcomesResolved = Meter.CreateCounter<long>(
        "kassa.group_commit.outcomes_resolved", "{batch}", "Commits whose acknowledgement was lost and whose outcome was looked up, by loop.");

    public static readonly Counter<long> BatchesSplit = Meter.CreateCounter<long>(
        "kassa.group_commit.batches_split", "{batch}", "Batches rolled back and run again one item at a time, by loop.");

    public static readonly Counter<long> BalanceCacheLookups = Meter.CreateCounter<long>(
        "kassa.balance_cache.lookups", "{customer}", "Customers a SQLite balance batch found in the writer's memory (hit) or loaded from the file (miss), by result (ADR 0021).");

    public static readonly Counter<long> BalanceCacheInvalidations = Meter.CreateCounter<long>(
        "kassa.balance_cache.invalidations", "{invalidation}", "Times the balance writer's memory was dropped because another writer changed balances (ADR 0021).");

    public static readonly KeyValuePair<string, object?> HitTag = new("result", "hit");
    public static readonly KeyValuePair<string, object?> MissTag = new("result", "miss");

    public static readonly UpDownCounter<long> PaymentAttemptsInFlight = Meter.CreateUpDownCounter<long>(
        "kassa.payment.attempts.in_flight", "{attempt}", "Payment attempts whose provider call is under way in this process.");

    public static readonly Histogram<double> RenewalRunDuration = Meter.CreateHistogram(
        "kassa.renewal.run.duration", "s", "Time of one renewal round of the subscription renewal worker, by outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RunSecondsBuckets });

    // Status codes boxed once: a TagList holds object values, and boxing an int per request would allocate.
    private static readonly object[] StatusBoxes = Enumerable.Range(0, 600).Select(i => (object)i).ToArray();
    private static readonly KeyValuePair<string, object?> BalancesLoop = new("loop", "balances");
    private static readonly KeyValuePair<string, object?> IngestLoop = new("loop", "ingest");
    private static readonly KeyValuePair<string, object?> MutationsLoop = new("loop", "mutations");
    private static readonly KeyValuePair<string, object?>[] PhaseTags =
        [new("phase", "load"), new("phase", "decide"), new("phase", "persist"), new("phase", "commit"), new("phase", "durable")];

    /// <summary>The label naming a group-commit loop (a fixed value per loop).</summary>
    public static KeyValuePair<string, object?> LoopTag(GroupCommitLoop loop) => loop switch
    {
        GroupCommitLoop.Balances => BalancesLoop,
        GroupCommitLoop.Mutations => MutationsLoop,
        _ => IngestLoop,
    };

    /// <summary>Counts one answered request and its latency. <paramref name="route"/> must be a route template, never a raw path.</summary>
    public static void RecordRequest(string method, string route, int status, long elapsedTicks)
    {
        if (!HttpRequests.Enabled && !HttpRequestDuration.Enabled) return;
        var tags = new TagList
        {
            { "http.request.method", method },
            { "http.route", route },
        };
        if (HttpRequestDuration.Enabled) HttpRequestDuration.Record(Stopwatch.GetElapsedTime(0, elapsedTicks).TotalSeconds, tags);
        tags.Add("http.response.status_code", (uint)status < StatusBoxes.Length ? StatusBoxes[status] : status);
        HttpRequests.Add(1, tags);
    }

    /// <summary>Records one batch's size and its total time.</summary>
    public static void RecordBatch(GroupCommitLoop loop, int size, long elapsedTicks)
    {
        var tag = LoopTag(loop);
        BatchSize.Record(size, tag);
        if (BatchDuration.Enabled) BatchDuration.Record(Stopwatch.GetElapsedTime(0, elapsedTicks).TotalSeconds, tag);
    }

    public static readonly Histogram<double> RollPhaseDuration = Meter.CreateHistogram(
        "kassa.meter.roll.phase.duration", "s",
        "Time one meter roll spent in each phase: plan (read the chunk and fold it), cells, distinct and index (its writes) and commit, by phase.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>Phases of one meter roll; see <see cref="RollPhaseDuration"/>.</summary>
    public enum RollPhase { Plan, Cells, Distinct, Index, Commit }

    private static readonly KeyValuePair<string, object?>[] RollPhaseTags =
        [new("phase", "plan"), new("phase", "cells"), new("phase", "distinct"), new("phase", "index"), new("phase", "commit")];

    /// <summary>Records one roll phase's time, in <see cref="Stopwatch"/> ticks.</summary>
    public static void RecordRollPhase(RollPhase phase, long elapsedTicks)
    {
        if (RollPhaseDuration.Enabled) RollPhaseDuration.Record(Stopwatch.GetElapsedTime(0, elapsedTicks).TotalSeconds, RollPhaseTags[(int)phase]);
    }

    /// <summary>Phases of one batch, in <see cref="Stopwatch"/> ticks; see <see cref="PhaseDuration"/>.</summary>
    public enum Phase { Load, Decide, Persist, Commit, Durable }

    public static void RecordPhase(GroupCommitLoop loop, Phase phase, long elapsedTicks)
    {
        if (!PhaseDuration.Enabled) return;
        PhaseDuration.Record(Stopwatch.GetElapsedTime(0, elapsedTicks).TotalSeconds, LoopTag(loop), PhaseTags[(int)phase]);
    }

    /// <summary>Where a queue gauge reads its length: the loop's name and a cheap, non-blocking count.</summary>
    public sealed record QueueSource(GroupCommitLoop Loop, Func<int> Length);

    private static readonly Lock SourcesLock = new();
    private static QueueSource[] _queues = [];
    private static Func<TimeSpan?>? _rollerLag;
    private static Func<TimeSpan?>? _indexerLag;
    private static Func<BacklogReading?>? _backlog;
    private static Func<int>? _readOnlyChecks;

    /// <summary>Undispatched events and pending webhook deliveries, as last counted (see the server's BacklogGauge).</summary>
    public sealed record BacklogReading(long UndispatchedEvents, long PendingDeliveries);

    /// <summary>Registers a queue for the <c>kassa.group_commit.queue.length</c> gauge until the returned handle is disposed.</summary>
    public static IDisposable ObserveQueue(QueueSource source)
    {
        lock (SourcesLock) _queues = [.. _queues, source];
        return new Unregister(() =>
        {
            lock (SourcesLock) _queues = [.. _queues.Where(q => !ReferenceEquals(q, source))];
        });
    }

    /// <summary>
    /// Feeds the <c>kassa.meter.roller.lag</c> gauge: how far the metering roller is behind, or null when
    /// it cannot say. Until something registers, the gauge reports nothing. The roller registers its
    /// callback once at start; the callback must be cheap and must not touch the database.
    /// </summary>
    public static IDisposable ReportMeterRollerLag(Func<TimeSpan?> lag)
    {
        ArgumentNullException.ThrowIfNull(lag);
        _rollerLag = lag;
        return new Unregister(() => Interlocked.CompareExchange(ref _rollerLag, null, lag));
    }

    /// <summary>Feeds the <c>kassa.meter.indexer.lag</c> gauge (SQLite's event indexer), as <see cref="ReportMeterRollerLag"/> does the roller's.</summary>
    public static IDisposable ReportMeterIndexerLag(Func<TimeSpan?> lag)
    {
        ArgumentNullException.ThrowIfNull(lag);
        _indexerLag = lag;
        return new Unregister(() => Interlocked.CompareExchange(ref _indexerLag, null, lag));
    }

    /// <summary>Feeds the webhook backlog gauges; the callback answers from a cache and never waits on the database.</summary>
    public static IDisposable ReportBacklog(Func<BacklogReading?> backlog)
    {
        ArgumentNullException.ThrowIfNull(backlog);
        _backlog = backlog;
        return new Unregister(() => Interlocked.CompareExchange(ref _backlog, null, backlog));
    }

    /// <summary>Feeds the read-only check queue's gauge (PostgreSQL, where checks that change nothing are decided together).</summary>
    public static IDisposable ObserveReadOnlyChecks(Func<int> length)
    {
        ArgumentNullException.ThrowIfNull(length);
        _readOnlyChecks = length;
        return new Unregister(() => Interlocked.CompareExchange(ref _readOnlyChecks, null, length));
    }

    // Observable gauges: read only when an exporter collects (a scrape or an OTLP export), never per request.
    public static readonly ObservableGauge<long> ReadOnlyCheckQueueLength = Meter.CreateObservableGauge(
        "kassa.read_only_checks.queue.length", ObserveReadOnlyCheckQueue, "{check}",
        "PostgreSQL: checks without send_event or lock waiting to be decided together from one read.");

    private static IEnumerable<Measurement<long>> ObserveReadOnlyCheckQueue() =>
        _readOnlyChecks?.Invoke() is { } length ? [new Measurement<long>(length)] : [];

    public static readonly ObservableGauge<long> QueueLength = Meter.CreateObservableGauge(
        "kassa.group_commit.queue.length", ObserveQueues, "{item}", "Items waiting for a group-commit loop, by loop.");

    public static readonly ObservableGauge<double> RollerLag = Meter.CreateObservableGauge(
        "kassa.meter.roller.lag", ObserveRollerLag, "s", "How far the metering roller is behind the newest meter events (reported once the roller registers).");

    public static readonly ObservableGauge<double> IndexerLag = Meter.CreateObservableGauge(
        "kassa.meter.indexer.lag", ObserveIndexerLag, "s",
        "SQLite: how far the event indexer is behind, the receipt-time span of the events not yet in the event index (reported once the indexer registers).");

    public static readonly ObservableGauge<long> UndispatchedEvents = Meter.CreateObservableGauge(
        "kassa.webhook.events.undispatched", ObserveUndispatched,
        "{event}", "Events not yet fanned out to webhook endpoints (counted at most every 15 s, capped).");

    public static readonly ObservableGauge<long> PendingDeliveries = Meter.CreateObservableGauge(
        "kassa.webhook.deliveries.pending", ObservePending,
        "{delivery}", "Webhook deliveries waiting to be sent or retried (counted at most every 15 s, capped).");

    private static IEnumerable<Measurement<long>> ObserveQueues()
    {
        var queues = _queues;
        var measurements = new Measurement<long>[queues.Length];
        for (var i = 0; i < queues.Length; i++) measurements[i] = new Measurement<long>(queues[i].Length(), LoopTag(queues[i].Loop));
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveUndispatched() =>
        _backlog?.Invoke() is { } b ? [new Measurement<long>(b.UndispatchedEvents)] : [];

    private static IEnumerable<Measurement<long>> ObservePending() =>
        _backlog?.Invoke() is { } b ? [new Measurement<long>(b.PendingDeliveries)] : [];

    private static IEnumerable<Measurement<double>> ObserveRollerLag() =>
        _rollerLag?.Invoke() is { } lag ? [new Measurement<double>(lag.TotalSeconds)] : [];

    private static IEnumerable<Measurement<double>> ObserveIndexerLag() =>
        _indexerLag?.Invoke() is { } lag ? [new Measurement<double>(lag.TotalSeconds)] : [];

    private sealed class Unregister(Action undo) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) undo();
        }
    }
}
