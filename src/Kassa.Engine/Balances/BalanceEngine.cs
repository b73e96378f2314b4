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
public sealed class BalanceEngine(IKassaStore store)
{
    public const int QueueCapacity = 10_000;
    public const int BatchSizeMax = 1_000;

    /// <summary>
    /// Writer loops, each with its own queue: a customer's operations always go to the same loop
    /// (sharded by customer), so a hot customer's operations batch together while other customers
    /// commit in parallel. SQLite has one writer, so one loop. On PostgreSQL the loops overlap their
    /// round trips and commits; batches lock rows in one global order, so loops (here and on other
    /// nodes) that meet on a customer wait for each other and never deadlock.
    /// </summary>
    public int Writers => _queues.Length;

    private readonly Channel<BalanceOp>[] _queues = NewQueues(store.Engine == "postgres" ? 4 : 1);

    private static Channel<BalanceOp>[] NewQueues(int writers) => Enumerable.Range(0, writers)
        .Select(_ => Channel.CreateBounded<BalanceOp>(new BoundedChannelOptions(QueueCapacity / writers)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        })).ToArray();

    /// <summary>Batches committed and operations decided since start, for /metrics and benchmarks.</summary>
    public long Batches => Interlocked.Read(ref _batches);
    public long Operations => Interlocked.Read(ref _operations);
    /// <summary>Time spent inside batch transactions (decide + write + commit), in stopwatch ticks.</summary>
    public long BatchTicks => Interlocked.Read(ref _batchTicks);
    public int QueueLength => _queues.Sum(q => q.Reader.Count);
    private long _batches;
    private long _operations;
    private long _batchTicks;

    /// <summary>False when the queue is full: back-pressure, answered with 429.</summary>
    public bool TryEnqueue(BalanceOp op) => _queues[Shard(op)].Writer.TryWrite(op);

    private int Shard(BalanceOp op)
    {
        if (_queues.Length == 1) return 0;
        var key = op.CustomerId ?? op switch { FinalizeLockOp f => f.LockId, ExpireLockOp e => e.LockId, _ => "" };
        // A stable hash (string.GetHashCode is randomised per process; any stable spread will do).
        uint h = 2166136261;
        foreach (var c in op.Tenant.AccountId) h = (h ^ c) * 16777619;
        foreach (var c in key) h = (h ^ c) * 16777619;
        return (int)(h % (uint)_queues.Length);
    }

    /// <summary>
    /// Runs one operation in a transaction of its own, bypassing the queue: the one-transaction-per-request
    /// baseline that benchmarks measure group commit against (same decisions, same writes).
    /// </summary>
    public async Task RunAloneAsync(BalanceOp op, CancellationToken ct)
    {
        await store.WriteAsync(async s =>
        {
            await ApplyBalanceBatch.Execute(s, [op]);
            return true;
        }, ct: ct);
        Complete(op);
    }

    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_queues.Select(q => RunLoopAsync(q, ct)));

    private async Task RunLoopAsync(Channel<BalanceOp> queue, CancellationToken ct)
    {
        var batch = new List<BalanceOp>(BatchSizeMax);
        try
        {
            while (await queue.Reader.WaitToReadAsync(ct))
            {
                while (batch.Count < BatchSizeMax && queue.Reader.TryRead(out var op)) batch.Add(op);
                await CommitAsync(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Whatever is still queued at shutdown was never acknowledged: fail it so callers answer 503 and clients retry.
        foreach (var op in batch) op.Fail(new OperationCanceledException("the server is stopping"));
        while (queue.Reader.TryRead(out var left)) left.Fail(new OperationCanceledException("the server is stopping"));
    }

    private Task CommitAsync(List<BalanceOp> batch) => GroupCommit.RunAsync<BalanceOp>(batch,
        async all =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await store.WriteAsync(async s =>
            {
                await ApplyBalanceBatch.Execute(s, all);
                return true;
            }, ct: CancellationToken.None);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _operations, all.Count);
            Interlocked.Add(ref _batchTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
            foreach (var op in all) Complete(op);
        },
        async op =>
        {
            await store.WriteAsync(async s =>
            {
                await ApplyBalanceBatch.Execute(s, [op]);
                return true;
            }, ct: CancellationToken.None);
            Complete(op);
        },
        (op, e) => op.Fail(e));

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
