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

    // A setup request that failed in transit (or with a 5xx or 429) waits this long times its attempt
    // number before it is sent again: enough for a restart hiccup to pass, short against a long load.
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);
    private const int MaxRetryLines = 10;

    // Error kinds of answers with an expected status whose items did not all go through.
    private const string UnreadableKind = "body unreadable";
    private const string RejectedKind = "body rejected items";

    private readonly string? authorization = options.Key is null ? null : "Bearer " + options.Key;

    /// <summary>
    /// Runs <paramref name="target"/> for the warm-up and then the measured window. A request counts
    /// (throughput, latency, errors) when it completes inside the window, whenever it started: in steady
    /// state that is exactly the completion rate, with no bias at either edge.
    /// </summary>
    public async Task<PhaseResult> MeasureAsync(Target target, int phase, CancellationToken cancel)
    {
        var workers = target.Workers > 0 ? Math.Min(target.Workers, options.Workers) : options.Workers;
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[run] {target.Name}: warm-up {options.Warmup.TotalSeconds:0.0}s, then {options.Duration.TotalSeconds:0.0}s measured, {workers} workers"));

        // Taken before the first request: the state the whole phase (warm-up included) starts from.
        var state = target.State?.Invoke();
        var start = Stopwatch.GetTimestamp();
        var window = new Window(
            start + LatencyRecorder.ToStopwatchTicks(options.Warmup),
            start + LatencyRecorder.ToStopwatchTicks(options.Warmup + options.Duration));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stop.CancelAfter(options.Warmup + options.Duration);
        using var hard = CancellationTokenSource.CreateLinkedTokenSource(cancel);

        // A target may wait longer for its stragglers, but not past the client's own timeout.
        var grace = target.Grace is { } own ? TimeSpan.FromTicks(Math.Min(own.Ticks, BenchHttp.RequestTimeout.Ticks)) : Grace;
        hard.CancelAfter(options.Warmup + options.Duration + grace);

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
        var items = new ItemCounts();
        foreach (var s in stats)
        {
            latency.Add(s.Latency);
            errors.Add(s.Errors);
            requests += s.Requests;
            items += s.Items;
        }

        return new PhaseResult(target.Name, workers, options.Duration, requests, latency.Summarize(), errors)
        {
            Items = target.Reader is null ? null : items,
            ItemName = target.ItemName,
            State = state,
        };
    }

    /// <summary>
    /// Sends each request of a setup batch once (again on a transient failure if the batch allows
    /// retries), spread over the workers, with progress every 10 % of the requests, or for a batch with
    /// a reader every <see cref="Batch.ItemProgressEvery"/> in items stored, rate and ETA.
    /// </summary>
    public async Task<BatchResult> RunBatchAsync(Batch batch, CancellationToken cancel)
    {
        var auth = batch.Authenticated ? authorization : null;
        var next = -1;
        var done = 0;
        long stored = 0;
        var retried = 0;
        var step = Math.Max(1, batch.Count / 10);
        var workers = Math.Max(1, Math.Min(batch.Workers > 0 ? Math.Min(batch.Workers, options.Workers) : options.Workers, batch.Count));
        var tallies = new ErrorTally[workers];
        var items = new ItemCounts[workers];
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[setup] {batch.Name}: {batch.Count} requests over {workers} workers{(batch.Reader is null ? "" : $", {batch.Items} {batch.ItemName}")}"));

        var start = Stopwatch.GetTimestamp();
        using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var progress = batch.Reader is null
            ? Task.CompletedTask
            : ReportItemsAsync(batch, () => Volatile.Read(ref stored), start, stopProgress.Token);
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            var tally = tallies[w] = new ErrorTally();
            tasks[w] = Task.Run(
                async () =>
                {
                    var buffer = new BodyBuffer();
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < batch.Count)
                    {
                        for (var attempt = 0; ; attempt++)
                        {
                            cancel.ThrowIfCancellationRequested();
                            var status = 0;
                            Exception? failure = null;
                            using (var request = batch.Build(i))
                            {
                                BenchHttp.Prepare(request, auth);
                                try
                                {
                                    (status, _) = await ExchangeAsync(request, buffer, marker: null, keep: batch.Reader is not null, batch.Expected, cancel);
                                }
                                catch (Exception e) when (!cancel.IsCancellationRequested)
                                {
                                    failure = e;
                                }
                            }

                            if (attempt < batch.Retries && (failure is not null || status is >= 500 or 429))
                            {
                                // Only the first few retries are logged: a server failing every request would
                                // otherwise bury the progress lines.
                                if (Interlocked.Increment(ref retried) <= MaxRetryLines)
                                {
                                    var why = failure is not null ? ErrorTally.Describe(failure) : status.ToString(CultureInfo.InvariantCulture);
                                    Console.Error.WriteLine($"[setup] {batch.Name}: request {i} failed ({why}), retry {attempt + 1} of {batch.Retries}");
                                }

                                await Task.Delay(RetryPause * (attempt + 1), cancel);
                                continue;
                            }

                            if (failure is not null)
                            {
                                tally.CountException(failure);
                                await Task.Delay(ErrorPause, cancel);
                            }
                            else if (!batch.Expected.Contains(status))
                            {
                                tally.CountStatus(status);
                                tally.NoteExample(status, buffer.Head);
                            }
                            else if (batch.Reader is { } reader)
                            {
                                if (!reader(buffer.Kept, out var counts))
                                {
                                    tally.CountKind(UnreadableKind);
                                    tally.NoteExample(status, buffer.Head);
                                }
                                else
                                {
                                    items[worker] += counts;
                                    Interlocked.Add(ref stored, counts.Offered);
                                    if (counts.Rejected > 0)
                                    {
                                        tally.CountKind(RejectedKind);
                                        tally.NoteExample(status, buffer.Head);
                                    }
                                }
                            }

                            break;
                        }

                        var finished = Interlocked.Increment(ref done);
                        if (batch.Reader is null && (finished % step == 0 || finished == batch.Count))
                        {
                            Console.Error.WriteLine(string.Create(
                                CultureInfo.InvariantCulture,
                                $"[setup] {batch.Name}: {finished}/{batch.Count} ({finished * 100L / batch.Count}%)"));
                        }
                    }
                },
                CancellationToken.None);
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        finally
        {
            stopProgress.Cancel();
            await progress;
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        var errors = new ErrorTally();
        var total = new ItemCounts();
        for (var w = 0; w < workers; w++)
        {
            errors.Add(tallies[w]);
            total += items[w];
        }

        if (batch.Reader is not null)
        {
            Console.Error.WriteLine(ItemProgress(batch, total.Offered, elapsed));
        }

        return new BatchResult(batch.Name, batch.Count, elapsed, errors, batch.Reader is null ? null : total);
    }

    /// <summary>One progress line every <see cref="Batch.ItemProgressEvery"/> until <paramref name="stop"/>.</summary>
    private static async Task ReportItemsAsync(Batch batch, Func<long> stored, long start, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Batch.ItemProgressEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                Console.Error.WriteLine(ItemProgress(batch, stored(), Stopwatch.GetElapsedTime(start)));
            }
        }
        catch (OperationCanceledException)
        {
            // The batch finished (or the run was interrupted, which the batch itself reports).
        }
    }

    /// <summary>"[setup] seed_events: 1230000/10000000 events stored (12%), 31234/s, ETA 4m41s".</summary>
    private static string ItemProgress(Batch batch, long stored, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? stored / elapsed.TotalSeconds : 0;
        var left = Math.Max(0, batch.Items - stored);
        var eta = left == 0 ? "0s" : rate > 0 ? Clock(TimeSpan.FromSeconds(left / rate)) : "unknown";
        var percent = batch.Items > 0 ? stored * 100 / batch.Items : 100;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"[setup] {batch.Name}: {stored}/{batch.Items} {batch.ItemName} stored ({percent}%), {rate:0}/s, elapsed {Clock(elapsed)}, ETA {eta}");
    }

    /// <summary>"45s", "4m41s", "1h02m": short enough to read at a glance, precise enough for an ETA.</summary>
    private static string Clock(TimeSpan span) => span.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h{span.Minutes:00}m")
        : span.TotalMinutes >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalSeconds}s");

    private async Task<WorkerStats> WorkAsync(
        Target target, int worker, Random random, Window window, CancellationToken stop, CancellationToken hard)
    {
        var stats = new WorkerStats();
        var buffer = new BodyBuffer();
        var auth = target.Authenticated ? authorization : null;
        var marker = target.Reject?.Marker;
        var reader = target.Reader;
        var check = target.Check;

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
                (status, refused) = await ExchangeAsync(request, buffer, marker, keep: reader is not null || check is not null, target.Expected, hard);
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

            // Every answer is read, in the window or not: a reader may keep a running total (e.g. of the
            // events stored) that later phases report.
            var counts = new ItemCounts();
            var readable = true;
            if (failure is null && reader is not null && target.Expected.Contains(status))
            {
                readable = reader(buffer.Kept, out counts);
            }

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
                        stats.Errors.NoteExample(status, buffer.Head);
                    }
                    else if (refused)
                    {
                        // An unexpected status already counts once; the body only matters when HTTP said yes.
                        stats.Errors.CountKind(target.Reject!.Kind);
                    }
                    else if (check?.Invoke(buffer.Kept) is { } wrong)
                    {
                        // HTTP said yes but the body says the operation did not do what was asked.
                        stats.Errors.CountKind(wrong);
                        stats.Errors.NoteExample(status, buffer.Head);
                    }
                    else if (reader is not null)
                    {
                        if (!readable)
                        {
                            stats.Errors.CountKind(UnreadableKind);
                            stats.Errors.NoteExample(status, buffer.Head);
                        }
                        else
                        {
                            stats.Items += counts;
                            if (counts.Rejected > 0)
                            {
                                stats.Errors.CountKind(RejectedKind);
                                stats.Errors.NoteExample(status, buffer.Head);
                            }
                        }
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
    /// Sends, then reads the body to its end; returns the status and whether the body contained
    /// <paramref name="marker"/> (always false without one). With <paramref name="keep"/> the whole body
    /// is kept in <see cref="BodyBuffer.Kept"/> for a reader; otherwise it is streamed through the buffer
    /// and dropped. Either way its first bytes stay in <see cref="BodyBuffer.Head"/> when the status is
    /// not one of <paramref name="expected"/>, as the example of the error.
    /// </summary>
    private async Task<(int Status, bool Found)> ExchangeAsync(
        HttpRequestMessage request, BodyBuffer buffer, byte[]? marker, bool keep, StatusSet expected, CancellationToken cancel)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        var status = (int)response.StatusCode;
        var unexpected = !expected.Contains(status);
        await using var body = await response.Content.ReadAsStreamAsync(cancel);
        buffer.Clear();
        if (keep)
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Bytes.Length)
                {
                    buffer.Grow();
                }

                var n = await body.ReadAsync(buffer.Bytes.AsMemory(length), cancel);
                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            buffer.Keep(length);
            return (status, marker is not null && buffer.Kept.IndexOf(marker) >= 0);
        }

        long total = 0;
        var found = false;

        // Bytes at the start of the buffer carried over from the previous read: the last Length - 1 bytes,
        // so a marker split across two reads is still found while the buffer stays one fixed array
        // (the marker is at most BodyRule.MaxMarkerBytes, far below BufferBytes).
        var kept = 0;
        int read;
        while ((read = await body.ReadAsync(buffer.Bytes.AsMemory(kept), cancel)) > 0)
        {
            if (unexpected && total == 0)
            {
                buffer.NoteHead(read);
            }

            total += read;
            if (total > MaxBodyBytes)
            {
                throw new InvalidDataException($"response body larger than {MaxBodyBytes} bytes");
            }

            if (marker is not null && !found)
            {
                var filled = kept + read;
                found = buffer.Bytes.AsSpan(0, filled).IndexOf(marker) >= 0;
                kept = found ? 0 : Math.Min(marker.Length - 1, filled);

                // Overlapping copy to the front; Span.CopyTo handles the overlap.
                buffer.Bytes.AsSpan(filled - kept, kept).CopyTo(buffer.Bytes);
            }
        }

        return (status, found);
    }

    /// <summary>
    /// A worker's read buffer: the first <see cref="BufferBytes"/> stream bodies through, and it grows
    /// (doubling, up to <see cref="MaxBodyBytes"/>) only for bodies kept whole. Owned by one worker.
    /// </summary>
    private sealed class BodyBuffer
    {
        private readonly byte[] head = new byte[ErrorTally.ExampleLengthMax + 1];
        private int headLength;
        private int keptLength;

        public byte[] Bytes { get; private set; } = new byte[BufferBytes];

        /// <summary>The whole body of the last exchange made with keep.</summary>
        public ReadOnlySpan<byte> Kept => Bytes.AsSpan(0, keptLength);

        /// <summary>The start of the last body: of a kept body, or of a streamed one with an unexpected status.</summary>
        public ReadOnlySpan<byte> Head => keptLength > 0 ? Kept[..Math.Min(keptLength, head.Length)] : head.AsSpan(0, headLength);

        public void Clear()
        {
            headLength = 0;
            keptLength = 0;
        }

        public void Keep(int length) => keptLength = length;

        /// <summary>Copies the start of the first read, which is at the front of <see cref="Bytes"/>.</summary>
        public void NoteHead(int read)
        {
            headLength = Math.Min(read, head.Length);
            Bytes.AsSpan(0, headLength).CopyTo(head);
        }

        public void Grow()
        {
            if (Bytes.Length >= MaxBodyBytes)
            {
                throw new InvalidDataException($"response body of at least {MaxBodyBytes} bytes");
            }

            var bigger = new byte[Math.Min(MaxBodyBytes, Bytes.Length * 2L)];
            Bytes.CopyTo(bigger, 0);
            Bytes = bigger;
        }
    }

    /// <summary>The measured window of a phase, in <see cref="Stopwatch"/> timestamps.</summary>
    private sealed record Window(long Start, long End);

    /// <summary>What one worker saw in one phase; merged when the phase ends.</summary>
    private sealed class WorkerStats
    {
        public LatencyRecorder Latency { get; } = new();

        public ErrorTally Errors { get; } = new();

        public long Requests { get; set; }

        public ItemCounts Items { get; set; }
    }
}

/// <summary>The figures of one target's measured window.</summary>
internal sealed record PhaseResult(
    string Target, int Workers, TimeSpan Duration, long Requests, LatencySummary Latency, ErrorTally Errors)
{
    /// <summary>Completed requests per second of the window, errors included (they are listed apart).</summary>
    public decimal Rps => Requests * (decimal)TimeSpan.TicksPerSecond / Duration.Ticks;

    /// <summary>Items the window's answers reported, for targets with a reader; null otherwise.</summary>
    public ItemCounts? Items { get; init; }

    /// <summary>The target's <see cref="Target.ItemName"/>.</summary>
    public string ItemName { get; init; } = "items";

    /// <summary>The target's <see cref="Target.State"/> when the phase started; null if it has none.</summary>
    public IReadOnlyList<KeyValuePair<string, long>>? State { get; init; }

    /// <summary>Items per second of the window.</summary>
    public decimal PerSecond(long items) => items * (decimal)TimeSpan.TicksPerSecond / Duration.Ticks;
}
