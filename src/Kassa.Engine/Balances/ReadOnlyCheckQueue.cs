using System.Threading.Channels;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// Decides checks that change nothing (no send_event, no lock) together on PostgreSQL: a request enqueues its
/// check and waits; a reader loop takes everything waiting (up to <see cref="BatchSizeMax"/>, without waiting for
/// more) and decides it from one read (<see cref="ApplyBalanceBatch.DecideReadOnlyChecks"/>). One check a read
/// cost PostgreSQL and the driver a round trip of five statements each — ~120 µs of PostgreSQL CPU and ~130 µs of
/// the server's a check, half the rate of a check that writes (whose batches share theirs). A full queue refuses at
/// once (the caller answers 429). Nothing is locked or written, so loops never wait for each other or for the
/// balance writers. SQLite reads in-process from a pool of readers and gains nothing: it decides each check alone.
/// </summary>
public sealed class ReadOnlyCheckQueue
{
    public const int QueueCapacity = 10_000;
    public const int BatchSizeMax = 1_000;
    /// <summary>Reader loops: two keep a read in flight while the other's answers are being written.</summary>
    public const int Readers = 2;

    private readonly IKassaStore _store;
    private readonly Channel<CheckOp> _queue = Channel.CreateBounded<CheckOp>(new BoundedChannelOptions(QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });

    public ReadOnlyCheckQueue(IKassaStore store)
    {
        _store = store;
        Enabled = store.Engine == "postgres";
    }

    /// <summary>Whether checks go through the queue (PostgreSQL); otherwise each is decided from a read of its own.</summary>
    public bool Enabled { get; }

    /// <summary>Checks decided through the queue since start, for tests.</summary>
    public long Checks => Interlocked.Read(ref _checks);
    private long _checks;

    /// <summary>Checks waiting, for /metrics.</summary>
    public int QueueLength => _queue.Reader.Count;

    /// <summary>False when the queue is full: back-pressure, answered with 429.</summary>
    public bool TryEnqueue(CheckOp op) => _queue.Writer.TryWrite(op);

    public Task RunAsync(CancellationToken ct) => Enabled ? Task.WhenAll(Enumerable.Range(0, Readers).Select(_ => RunLoopAsync(ct))) : Task.CompletedTask;

    private async Task RunLoopAsync(CancellationToken ct)
    {
        var batch = new List<CheckOp>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(ct))
            {
                while (batch.Count < BatchSizeMax && _queue.Reader.TryRead(out var op)) batch.Add(op);
                await DecideAsync(batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Whatever is still queued at shutdown was never decided: fail it so callers answer 503 and clients retry.
        var stopping = new UnavailableException("The server is stopping; retry the request");
        foreach (var op in batch) op.Fail(stopping);
        while (_queue.Reader.TryRead(out var left)) left.Fail(stopping);
    }

    /// <summary>Decides and answers <paramref name="batch"/>; never throws (a failed read fails every check of it).</summary>
    public async Task DecideAsync(IReadOnlyList<CheckOp> batch)
    {
        try
        {
            await _store.ReadAsync(async s =>
            {
                await ApplyBalanceBatch.DecideReadOnlyChecks(s, batch);
                return true;
            });
        }
        catch (Exception e)
        {
            foreach (var op in batch) op.Fail(e);
            return;
        }
        Interlocked.Add(ref _checks, batch.Count);
        foreach (var op in batch)
        {
            if (op.IsDecided) op.Complete();
            else op.Fail(new InvalidOperationException($"read-only check of request {op.RequestId} was left undecided"));
        }
    }
}
