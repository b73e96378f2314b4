using System.Diagnostics;
using System.Threading.Channels;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

/// <summary>
/// Group commit for meter event batches: requests that arrive while a transaction is being written
/// wait in a bounded queue and go into the next transaction together (<see cref="IngestMeterEvents.ExecuteMany"/>),
/// so one commit — on SQLite one WAL write and fsync, on PostgreSQL one round of statements and one
/// commit — carries several requests' events, and rollup pages several batches touch are written
/// once. Each request is answered only after the transaction holding it committed.
/// </summary>
public sealed class IngestQueue
{
    private readonly GroupCommit<Item> _commit;

    public IngestQueue(IKassaStore store, TimeProvider time, GroupCommitFaults faults)
    {
        Writers = store.Engine == "postgres" ? 4 : 1;
        _commit = new GroupCommit<Item>(store, time, GroupCommitLoop.Ingest, faults,
            async (s, items, beforeWrite) =>
            {
                var responses = await IngestMeterEvents.ExecuteMany(s, items.Select(i => (i.Op, i.Batch)).ToList(), beforeWrite);
                for (var i = 0; i < items.Count; i++) items[i].Decided = responses[i];
            },
            // One request may have broken a shared transaction (a sum past 64 bits, say): the group commit
            // then runs each alone, so the others still land.
            item => item.Done.TrySetResult(item.Decided!),
            (item, e) => item.Done.TrySetException(e));
    }

    /// <summary>Requests waiting at most; past it a request is refused with 429 (back-pressure, not unbounded memory).</summary>
    public const int QueueCapacity = 256;

    /// <summary>
    /// Events one transaction takes at most (whole requests; one request of 1,000 always fits). Larger
    /// transactions stop paying: past a few thousand events the commit is no longer the main cost, and a
    /// request would wait for more of its neighbours' work before its answer.
    /// </summary>
    public const int EventsPerCommitMax = 8_000;

    /// <summary>
    /// Writer loops: SQLite has one writer; on PostgreSQL four overlap one transaction's round trips with
    /// the others' (measured accepted/s with 2, 4 and 8 loops: 10.6–12.7k, 13.2–13.5k, 10.2–12.8k).
    /// </summary>
    public int Writers { get; }

    private readonly Channel<Item> _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });

    private sealed class Item(OperationContext op, IngestMeterEvents.Prepared batch)
    {
        public OperationContext Op { get; } = op;
        public IngestMeterEvents.Prepared Batch { get; } = batch;
        /// <summary>The answer decided in the transaction; handed to the caller only after the commit.</summary>
        public IngestMeterEvents.Response? Decided { get; set; }
        public TaskCompletionSource<IngestMeterEvents.Response> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Transactions committed and requests answered since start, for /metrics.</summary>
    public long Commits => Interlocked.Read(ref _commits);
    public long Requests => Interlocked.Read(ref _requests);
    /// <summary>Time spent inside ingest transactions, in stopwatch ticks.</summary>
    public long CommitTicks => Interlocked.Read(ref _commitTicks);
    public int QueueLength => _queue.Reader.Count;
    private long _commits;
    private long _requests;
    private long _commitTicks;

    /// <summary>
    /// Queues a validated batch; the task ends once its transaction committed (or failed). Null when the
    /// queue is full: the caller answers 429 with Retry-After.
    /// </summary>
    public Task<IngestMeterEvents.Response>? TryEnqueue(OperationContext op, IngestMeterEvents.Prepared batch)
    {
        var item = new Item(op, batch);
        return _queue.Writer.TryWrite(item) ? item.Done.Task : null;
    }

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => RunLoopAsync(ct)));

    private async Task RunLoopAsync(CancellationToken ct)
    {
        var batch = new List<Item>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(ct))
            {
                var events = 0;
                while (_queue.Reader.TryPeek(out var next) && (batch.Count == 0 || events + next.Batch.Events.Count <= EventsPerCommitMax)
                       && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                    events += item.Batch.Events.Count;
                }
                if (batch.Count == 0) continue;
                // The next batch starts once this one committed; its answers follow its fsync (ADR 0011).
                await StartAsync(batch);
                // A new list each time: the batch still being answered keeps its own.
                batch = [];
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Whatever is still queued at shutdown was never written: fail it so callers answer 503 and clients retry.
        var stopping = new UnavailableException("The server is stopping; retry the request");
        foreach (var item in batch) item.Done.TrySetException(stopping);
        while (_queue.Reader.TryRead(out var left)) left.Done.TrySetException(stopping);
        // Decided and committed batches are answered before the loop ends.
        await _commit.AnsweredAsync();
    }

    /// <summary>Commit outcomes that had to be looked up, and shared transactions run again request by request.</summary>
    public long OutcomesResolved => _commit.OutcomesResolved;
    public long BatchesSplit => _commit.BatchesSplit;

    /// <summary>
    /// Commits these requests in one shared transaction, as the writer loop does, and returns their
    /// answers (each ends once the transaction committed or failed). Public so tests can choose a batch.
    /// </summary>
    public async Task<IReadOnlyList<Task<IngestMeterEvents.Response>>> CommitTogetherAsync(IReadOnlyList<(OperationContext Op, IngestMeterEvents.Prepared Batch)> requests)
    {
        var items = requests.Select(r => new Item(r.Op, r.Batch)).ToList();
        await CommitAsync(items);
        return items.Select(i => i.Done.Task).ToList();
    }

    private async Task CommitAsync(List<Item> batch) => await await StartAsync(batch);

    /// <summary>Commits the batch; the returned task ends when every request has been answered.</summary>
    private async Task<Task> StartAsync(List<Item> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var answered = await _commit.StartAsync(batch);
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _requests, batch.Count);
        Interlocked.Add(ref _commitTicks, Stopwatch.GetTimestamp() - started);
        return answered;
    }
}
