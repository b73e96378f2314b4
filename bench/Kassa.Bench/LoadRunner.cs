using System.Diagnostics;
using System.Globalization;

namespace Kassa.Bench;

/// <summary>
/// Drives the workers: timed phases for targets and counted batches for setup. Every worker keeps exactly
/// one request in flight, so concurrency equals <see cref="BenchOptions.Workers"/>.
/// </summary>
internal sealed class LoadRunner(HttpClient client, BenchOptions options) : ISetupDriver
{
    // After the window closes, in-flight requests get this long to finish before they are cancelled.
    // Letting them finish keeps the connections open for the next phase (a cancelled request closes its
    // connection); they are not counted either way, because they did not complete inside the window.
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    // After an exception (refused connection, reset) a worker waits this long before its next request,
    // so a dead server does not turn the generator into a busy loop of exceptions.
    private static readonly TimeSpan ErrorPause = TimeSpan.FromMilliseconds(10);

    // Bodies are read into a per-worker buffer and dropped; a body larger than this is an error, which
    // bounds how long a runaway response can hold a worker.
    private const long MaxBodyBytes = 16 * 1024 * 1024;
    private const int BufferBytes = 16 * 1024;

    private readonly string? authorization = options.Key is null ? null : "Bearer " + options.Key;

    /// <summary>
    /// Runs <paramref name="target"/> for the warm-up and then the measured window. A request counts
    /// (throughput, latency, errors) when it completes inside the window, whenever it started: in steady
    /// state that is exactly the completion rate, with no bias at either edge.
    /// </summary>
    public async Task<PhaseResult> MeasureAsync(Target target, int phase, CancellationToken cancel)
    {
        var workers = options.Workers;
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[run] {target.Name}: warm-up {options.Warmup.TotalSeconds:0.0}s, then {options.Duration.TotalSeconds:0.0}s measured, {workers} workers"));

        var start = Stopwatch.GetTimestamp();
        var window = new Window(
            start + LatencyRecorder.ToStopwatchTicks(options.Warmup),
            start + LatencyRecorder.ToStopwatchTicks(options.Warmup + options.Duration));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stop.CancelAfter(options.Warmup + options.Duration);
        using var hard = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        hard.CancelAfter(options.Warmup + options.Duration + Grace);

        var tasks = new Task<WorkerStats>[workers];
        for (var w = 0; w < workers; w++)
        {
            var worker = w;

            // Fixed seeds: a rerun sends the same sequence of ids from each worker.
            var seed = phase * 1_000_003 + worker;
            tasks[w] = Task.Run(() => WorkAsync(target, worker, new Random(seed), window, stop.Token, hard.Token), CancellationToken.None);
        }

        var stats = await Task.WhenAll(tasks);
        cancel.ThrowIfCancellationRequested();

        var latency = new LatencyRecorder();
        var errors = new ErrorTally();
        long requests = 0;
        foreach (var s in stats)
        {
            latency.Add(s.Latency);
            errors.Add(s.Errors);
            requests += s.Requests;
        }

        return new PhaseResult(target.Name, workers, options.Duration, requests, latency.Summarize(), errors);
    }

    /// <summary>Sends each request of a setup batch once, spread over the workers, with progress every 10 %.</summary>
    public async Task<BatchResult> RunBatchAsync(Batch batch, CancellationToken cancel)
    {
        var auth = batch.Authenticated ? authorization : null;
        var next = -1;
        var done = 0;
        var step = Math.Max(1, batch.Count / 10);
        var workers = Math.Max(1, Math.Min(options.Workers, batch.Count));
        var tallies = new ErrorTally[workers];
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[setup] {batch.Name}: {batch.Count} requests over {workers} workers"));

        var start = Stopwatch.GetTimestamp();
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var tally = tallies[w] = new ErrorTally();
            tasks[w] = Task.Run(
                async () =>
                {
                    var buffer = new byte[BufferBytes];
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < batch.Count)
                    {
                        cancel.ThrowIfCancellationRequested();
                        using (var request = batch.Build(i))
                        {
                            BenchHttp.Prepare(request, auth);
                            try
                            {
                                var (status, _) = await ExchangeAsync(request, buffer, marker: null, cancel);
                                if (!batch.Expected.Contains(status))
                                {
                                    tally.CountStatus(status);
                                }
                            }
                            catch (Exception e) when (!cancel.IsCancellationRequested)
                            {
                                tally.CountException(e);
                                await Task.Delay(ErrorPause, cancel);
                            }
                        }

                        var finished = Interlocked.Increment(ref done);
                        if (finished % step == 0 || finished == batch.Count)
                        {
                            Console.Error.WriteLine(string.Create(
                                CultureInfo.InvariantCulture,
                                $"[setup] {batch.Name}: {finished}/{batch.Count} ({finished * 100L / batch.Count}%)"));
                        }
                    }
                },
                CancellationToken.None);
        }

        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var errors = new ErrorTally();
        foreach (var tally in tallies)
        {
            errors.Add(tally);
        }

        return new BatchResult(batch.Name, batch.Count, elapsed, errors);
    }

    private async Task<WorkerStats> WorkAsync(
        Target target, int worker, Random random, Window window, CancellationToken stop, CancellationToken hard)
    {
        var stats = new WorkerStats();
        var buffer = new byte[BufferBytes];
        var auth = target.Authenticated ? authorization : null;
        var marker = target.Reject?.Marker;

        // The clock is checked as well as the token: a timer may fire a little late, the window may not.
        while (!stop.IsCancellationRequested)
        {
            var request = target.Build(worker, random);
            BenchHttp.Prepare(request, auth);
            var started = Stopwatch.GetTimestamp();
            if (started >= window.End)
            {
                request.Dispose();
                break;
            }

            var status = 0;
            var refused = false;
            Exception? failure = null;
            try
            {
                (status, refused) = await ExchangeAsync(request, buffer, marker, hard);
            }
            catch (OperationCanceledException) when (hard.IsCancellationRequested)
            {
                // Grace ran out or the run was interrupted: this request belongs to no window.
                break;
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                request.Dispose();
            }

            var finished = Stopwatch.GetTimestamp();
            if (finished > window.Start && finished <= window.End)
            {
                stats.Requests++;
                if (failure is not null)
                {
                    stats.Errors.CountException(failure);
                }
                else
                {
                    // Latency of every answered request, expected status or not: a fast 429 is still
                    // what the server did. Exceptions have no meaningful latency and are only counted.
                    stats.Latency.Record(LatencyRecorder.ToNanoseconds(finished - started));
                    if (!target.Expected.Contains(status))
                    {
                        stats.Errors.CountStatus(status);
                    }
                    else if (refused)
                    {
                        // An unexpected status already counts once; the body only matters when HTTP said yes.
                        stats.Errors.CountKind(target.Reject!.Kind);
                    }
                }
            }

            if (failure is not null)
            {
                try
                {
                    await Task.Delay(ErrorPause, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        return stats;
    }

    /// <summary>
    /// Sends, then reads the body to its end into <paramref name="buffer"/> (and drops it); returns the
    /// status and whether the body contained <paramref name="marker"/> (always false without one).
    /// </summary>
    private async Task<(int Status, bool Found)> ExchangeAsync(
        HttpRequestMessage request, byte[] buffer, byte[]? marker, CancellationToken cancel)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        await using var body = await response.Content.ReadAsStreamAsync(cancel);
        long total = 0;
        var found = false;

        // Bytes at the start of the buffer carried over from the previous read: the last Length - 1 bytes,
        // so a marker split across two reads is still found while the buffer stays one fixed array
        // (the marker is at most BodyRule.MaxMarkerBytes, far below BufferBytes).
        var kept = 0;
        int read;
        while ((read = await body.ReadAsync(buffer.AsMemory(kept), cancel)) > 0)
        {
            total += read;
            if (total > MaxBodyBytes)
            {
                throw new InvalidDataException($"response body larger than {MaxBodyBytes} bytes");
            }

            if (marker is not null && !found)
            {
                var filled = kept + read;
                found = buffer.AsSpan(0, filled).IndexOf(marker) >= 0;
                kept = found ? 0 : Math.Min(marker.Length - 1, filled);

                // Overlapping copy to the front; Span.CopyTo handles the overlap.
                buffer.AsSpan(filled - kept, kept).CopyTo(buffer);
            }
        }

        return ((int)response.StatusCode, found);
    }

    /// <summary>The measured window of a phase, in <see cref="Stopwatch"/> timestamps.</summary>
    private sealed record Window(long Start, long End);

    /// <summary>What one worker saw in one phase; merged when the phase ends.</summary>
    private sealed class WorkerStats
    {
        public LatencyRecorder Latency { get; } = new();

        public ErrorTally Errors { get; } = new();

        public long Requests { get; set; }
    }
}

/// <summary>The figures of one target's measured window.</summary>
internal sealed record PhaseResult(
    string Target, int Workers, TimeSpan Duration, long Requests, LatencySummary Latency, ErrorTally Errors)
{
    /// <summary>Completed requests per second of the window, errors included (they are listed apart).</summary>
    public decimal Rps => Requests * (decimal)TimeSpan.TicksPerSecond / Duration.Ticks;
}
