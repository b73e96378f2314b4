using System.Threading.Channels;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// Group commit for every balance change (design §4). Requests enqueue an operation and wait; one
/// writer loop takes everything waiting (up to <see cref="BatchSizeMax"/>, without waiting when the
/// queue is short, so light load pays one commit per operation), decides the batch in one
/// transaction and completes the operations only after the commit. A full queue refuses at once
/// (the caller answers 429) instead of growing memory. Correct with several processes: the database
/// arbitrates through row locks (PostgreSQL) or its single writer (SQLite).
/// </summary>
public sealed class BalanceEngine
{
    private readonly IKassaStore _store;
    private readonly GroupCommit<BalanceOp> _commit;

    /// <param name="writersPostgres">Writer loops on PostgreSQL (1 to <see cref="WritersLimit"/>); null for <see cref="WritersPostgres"/>.</param>
    public BalanceEngine(IKassaStore store, TimeProvider time, GroupCommitFaults faults, int? writersPostgres = null)
    {
        _store = store;
        var writers = writersPostgres ?? WritersPostgres;
        ArgumentOutOfRangeException.ThrowIfLessThan(writers, 1, nameof(writersPostgres));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(writers, WritersLimit, nameof(writersPostgres));
        _queues = NewQueues(store.Engine == "postgres" ? writers : 1);
        _commit = new GroupCommit<BalanceOp>(store, time, GroupCommitLoop.Balances, faults,
            (s, ops, beforeWrite) => ExecuteAsync(s, ops, beforeWrite, s.BalanceMemory),
            Complete, (op, e) => op.Fail(e));
    }

    /// <summary>
    /// The store's balance writer memory (SQLite, ADR 0021; null on PostgreSQL, whose loops and nodes share rows
    /// under row locks and load them every batch), for tests and metrics.
    /// </summary>
    public BalanceCache? Cache => _store.BalanceMemory;

    public const int QueueCapacity = 10_000;
    public const int BatchSizeMax = 1_000;

    /// <summary>
    /// Writer loops on PostgreSQL by default: one on a machine of up to two cores, two above. Each batch costs
    /// PostgreSQL a fixed share of CPU (its round trips, statements and commit) besides its operations', so fewer loops
    /// commit fewer, larger batches. On the 2-core benchmark machine, where the server, PostgreSQL and the load
    /// generator share the cores, two loops beat four (bench/README.md, twentieth session) and one beat two once
    /// a batch's writes rode with its COMMIT and its loads in one round trip: alternated, uniform checks 14,815
    /// against 13,133 a second and uniform tracks 14,419 against 13,498 (bench/README.md, thirty-fourth session).
    /// More cores for PostgreSQL were not measured; they keep the two loops measured before and may want more
    /// (<c>KASSA_BALANCE_WRITERS</c>).
    /// </summary>
    public static int WritersPostgres => Environment.ProcessorCount <= 2 ? 1 : 2;
    /// <summary>The most writer loops an operator may set (the queue capacity is shared among them).</summary>
    public const int WritersLimit = 64;

    /// <summary>
    /// Writer loops, each with its own queue: a customer's operations always go to the same loop
    /// (sharded by customer), so a hot customer's operations batch together while other customers
    /// commit in parallel. SQLite has one writer, so one loop; PostgreSQL <see cref="WritersPostgres"/> unless set. On PostgreSQL the loops overlap their
    /// round trips and commits; batches lock rows in one global order, so loops (here and on other
    /// nodes) that meet on a customer wait for each other and never deadlock.
    /// </summary>
    public int Writers => _queues.Length;

    private readonly Channel<BalanceOp>[] _queues;

    private static Channel<BalanceOp>[] NewQueues(int writers) => Enumerable.Range(0, writers)
        .Select(_ => Channel.CreateBounded<BalanceOp>(new BoundedChannelOptions(QueueCapacity / writers)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        })).ToArray();

    /// <summary>Batches committed and operations decided since start, for /metrics and benchmarks.</summary>
    public long Batches => Interlocked.Read(ref _batches);
    public long Operations => Interlocked.Read(ref _operations);
    /// <summary>Time spent inside batch transactions (decide + write + commit, not the wait for durability), in stopwatch ticks.</summary>
    public long BatchTicks => Interlocked.Read(ref _batchTicks);
    public int QueueLength => _queues.Sum(q => q.Reader.Count);
    private long _batches;
    private long _operations;
    private long _batchTicks;

    /// <summary>False when the queue is full: back-pressure, answered with 429.</summary>
    public bool TryEnqueue(BalanceOp op) => _queues[Shard(op)].Writer.TryWrite(op);

    private int Shard(BalanceOp op) =>
        Shards.Of(_queues.Length, op.Tenant.AccountId, op.CustomerId ?? op switch { FinalizeLockOp f => f.LockId, ExpireLockOp e => e.LockId, _ => "" });

    /// <summary>
    /// Runs one operation in a transaction of its own, bypassing the queue: the one-transaction-per-request
    /// baseline that benchmarks measure group commit against (same decisions, same writes).
    /// </summary>
    public async Task RunAloneAsync(BalanceOp op, CancellationToken ct)
    {
        await _store.WriteAsync(async s =>
        {
            await ExecuteAsync(s, [op], null, s.BalanceMemory);
            return true;
        }, ct: ct);
        Complete(op);
    }

    /// <summary>Decides and writes the batch, then what must commit with each decision (<see cref="BalanceOp.CommitWith"/>).</summary>
    private static async Task ExecuteAsync(IStoreSession s, IReadOnlyList<BalanceOp> ops, Action? beforeWrite, BalanceCache? cache)
    {
        // Bench operations come decided and only ride along (BenchStage.Committed); a batch of only those writes its marker alone.
        var decide = HasBench(ops) ? ops.Where(o => o.Bench == BenchStage.None).ToList() : ops;
        if (decide.Count > 0) await ApplyBalanceBatch.Execute(s, decide, beforeWrite, cache);
        else beforeWrite?.Invoke();
        foreach (var op in ops)
        {
            if (op.CommitWith is { } work) await work(s);
        }
    }

    private static bool HasBench(IReadOnlyList<BalanceOp> ops)
    {
        foreach (var op in ops)
        {
            if (op.Bench != BenchStage.None) return true;
        }
        return false;
    }

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_queues.Select(q => RunLoopAsync(q, ct)));

    private async Task RunLoopAsync(Channel<BalanceOp> queue, CancellationToken ct)
    {
        var batch = new List<BalanceOp>();
        try
        {
            while (await queue.Reader.WaitToReadAsync(ct))
            {
                while (batch.Count < BatchSizeMax && queue.Reader.TryRead(out var op))
                {
                    // A bench operation priced up to the queue (BenchStage.Queued) is answered here, with no transaction.
                    if (op.Bench == BenchStage.Queued) Complete(op);
                    else batch.Add(op);
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
        // Whatever is still queued at shutdown was never decided: fail it so callers answer 503 and clients retry.
        var stopping = new UnavailableException("The server is stopping; retry the request");
        foreach (var op in batch) op.Fail(stopping);
        while (queue.Reader.TryRead(out var left)) left.Fail(stopping);
        // Decided and committed batches are answered before the loop ends.
        await _commit.AnsweredAsync();
    }

    /// <summary>Decisions whose commit outcome had to be looked up, and batches run again op by op after a rollback.</summary>
    public long OutcomesResolved => _commit.OutcomesResolved;
    public long BatchesSplit => _commit.BatchesSplit;

    /// <summary>
    /// Commits one batch as the writer loop does (<see cref="GroupCommit{T}"/>): every op is completed or
    /// failed when the task ends. Public so tests can commit a batch of their choosing.
    /// </summary>
    public async Task CommitAsync(IReadOnlyList<BalanceOp> batch) => await await StartAsync(batch);

    /// <summary>Commits the batch; the returned task ends when every op has been answered.</summary>
    private async Task<Task> StartAsync(IReadOnlyList<BalanceOp> batch)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var answered = await _commit.StartAsync(batch);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _operations, batch.Count);
        Interlocked.Add(ref _batchTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        return answered;
    }

    private static void Complete(BalanceOp op)
    {
        switch (op)
        {
            case CheckOp c: c.Complete(); break;
            case TrackOp t: t.Complete(); break;
            case FinalizeLockOp f: f.Complete(); break;
            case ExpireLockOp e: e.Complete(); break;
            case MaintainOp m: m.Complete(); break;
        }
    }
}
