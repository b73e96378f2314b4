using System.Threading.Channels;
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

    private readonly Channel<BalanceOp> _queue = Channel.CreateBounded<BalanceOp>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    /// <summary>Batches committed and operations decided since start, for /metrics and benchmarks.</summary>
    public long Batches => Interlocked.Read(ref _batches);
    public long Operations => Interlocked.Read(ref _operations);
    private long _batches;
    private long _operations;

    /// <summary>False when the queue is full: back-pressure, answered with 429.</summary>
    public bool TryEnqueue(BalanceOp op) => _queue.Writer.TryWrite(op);

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

    public async Task RunAsync(CancellationToken ct)
    {
        var batch = new List<BalanceOp>(BatchSizeMax);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(ct))
            {
                while (batch.Count < BatchSizeMax && _queue.Reader.TryRead(out var op)) batch.Add(op);
                await CommitAsync(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Whatever is still queued at shutdown was never acknowledged: fail it so callers answer 503 and clients retry.
        foreach (var op in batch) op.Fail(new OperationCanceledException("the server is stopping"));
        while (_queue.Reader.TryRead(out var left)) left.Fail(new OperationCanceledException("the server is stopping"));
    }

    private async Task CommitAsync(List<BalanceOp> batch)
    {
        try
        {
            await store.WriteAsync(async s =>
            {
                await ApplyBalanceBatch.Execute(s, batch);
                return true;
            }, ct: CancellationToken.None);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _operations, batch.Count);
            foreach (var op in batch) Complete(op);
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One operation may have broken the batch; decide each alone so the others still succeed.
            foreach (var op in batch)
            {
                try
                {
                    await store.WriteAsync(async s =>
                    {
                        await ApplyBalanceBatch.Execute(s, [op]);
                        return true;
                    }, ct: CancellationToken.None);
                    Complete(op);
                }
                catch (Exception e)
                {
                    op.Fail(e);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var op in batch) op.Fail(e);
        }
    }

    private static void Complete(BalanceOp op)
    {
        switch (op)
        {
            case CheckOp c: c.Complete(); break;
            case TrackOp t: t.Complete(); break;
            case FinalizeLockOp f: f.Complete(); break;
            case ExpireLockOp e: e.Complete(); break;
        }
    }
}
