using System.Diagnostics;
using Kassa.Core.Ids;
using Kassa.Engine.Storage;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Common;

/// <summary>
/// The commit rule both group-commit loops follow (balance operations, meter event batches), so that
/// a batch is applied exactly once whatever fails and wherever:
/// <list type="bullet">
/// <item>Everything is decided and checked before anything is written (<paramref name="write"/> throws
/// before its first write when an item is left undecided).</item>
/// <item>The transaction also writes a marker row naming the batch. A failure before the work finished
/// means the transaction rolled back: the batch may be run again, each item alone (one item may have
/// broken it), and only the items that fail alone fail.</item>
/// <item>A failure once the work finished — during COMMIT, or while its answer travelled back — leaves
/// the outcome unknown. The marker settles it: a fence insert of the same id waits for the first
/// transaction to end, then either finds its marker (committed: answer with the decisions made) or
/// stores the fence (rolled back, and now it can never commit: run again).</item>
/// <item>After the commit only answers are given; nothing after the commit can make the batch run again.</item>
/// </list>
/// </summary>
public sealed class GroupCommit<T>(
    IKassaStore store,
    TimeProvider time,
    GroupCommitLoop loop,
    GroupCommitFaults faults,
    Func<IStoreSession, IReadOnlyList<T>, Action, Task> write,
    Action<T> complete,
    Action<T, Exception> fail)
{
    /// <summary>Tries to settle an unknown commit outcome; past this, the batch's waiters answer 503 and their clients retry.</summary>
    public const int ResolveAttemptsMax = 8;
    private static readonly TimeSpan ResolveDelayFirst = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ResolveDelayMax = TimeSpan.FromSeconds(2);

    private enum Outcome { Committed, RolledBack, Unknown }

    /// <summary>Commit outcomes that had to be looked up (the acknowledgement of a COMMIT was lost), for /metrics.</summary>
    public long OutcomesResolved => Interlocked.Read(ref _outcomesResolved);
    /// <summary>Batches run again item by item after their transaction rolled back.</summary>
    public long BatchesSplit => Interlocked.Read(ref _batchesSplit);
    private long _outcomesResolved;
    private long _batchesSplit;

    /// <summary>
    /// Most batches that may wait for their commit to become durable at once (<see cref="StartAsync"/>): a
    /// loop that runs ahead of a slow disk stops here instead of holding ever more waiting requests.
    /// </summary>
    public const int DurableWaitsMax = 8;
    private readonly SemaphoreSlim _durableWaits = new(DurableWaitsMax, DurableWaitsMax);

    // Batches committed and not yet answered (at most DurableWaitsMax), for AnsweredAsync.
    private readonly HashSet<Task> _answering = [];

    /// <summary>
    /// Ends when every batch committed so far has been answered: a loop that stops awaits it, so decided and
    /// committed work is always answered before shutdown.
    /// </summary>
    public Task AnsweredAsync()
    {
        lock (_answering) return Task.WhenAll(_answering.ToArray());
    }

    /// <summary>Commits <paramref name="batch"/> and completes or fails every item; never throws.</summary>
    public async Task RunAsync(IReadOnlyList<T> batch) => await await StartAsync(batch);

    /// <summary>
    /// Commits <paramref name="batch"/> and returns once its transaction has ended, with a task that ends when
    /// every item has been completed or failed — after the commit is durable (ADR 0011). A writer loop starts
    /// its next batch at once, so the next transaction runs while this one's fsync does. The caller must not
    /// change <paramref name="batch"/> until the returned task ends. Never throws.
    /// </summary>
    public async Task<Task> StartAsync(IReadOnlyList<T> batch)
    {
        await _durableWaits.WaitAsync();
        var started = Stopwatch.GetTimestamp();
        Task<Outcome>? finishing = null;
        try
        {
            // One span per batch (null, and free, unless a tracer listens); the database spans nest under it.
            using var activity = KassaMeters.Source.StartActivity(loop switch
            {
                GroupCommitLoop.Balances => "group_commit balances",
                GroupCommitLoop.Mutations => "group_commit mutations",
                _ => "group_commit ingest",
            });
            activity?.SetTag("loop", KassaMeters.LoopTag(loop).Value);
            activity?.SetTag("batch.size", batch.Count);
            var (outcome, error, durable) = await TryCommitAsync(batch);
            switch (outcome)
            {
                case Outcome.Committed:
                    finishing = FinishAsync(batch, durable!, (started, Stopwatch.GetTimestamp()));
                    if (!finishing.IsCompleted)
                    {
                        lock (_answering) _answering.Add(finishing);
                        _ = finishing.ContinueWith(t => { lock (_answering) _answering.Remove(t); }, TaskScheduler.Default);
                    }
                    return finishing;
                case Outcome.Unknown:
                    foreach (var item in batch) fail(item, Unknowable(error!));
                    return Task.CompletedTask;
            }
            if (batch.Count == 1)
            {
                fail(batch[0], error!);
                return Task.CompletedTask;
            }
            // Rolled back for sure: one item may have broken the batch, so run each alone (each waits for its
            // own durability: a rollback is rare, and this keeps the split simple).
            Interlocked.Increment(ref _batchesSplit);
            KassaMeters.BatchesSplit.Add(1, KassaMeters.LoopTag(loop));
            activity?.SetTag("split", true);
            foreach (var item in batch)
            {
                var (alone, aloneError, aloneDurable) = await TryCommitAsync([item]);
                if (alone == Outcome.Committed) await FinishAsync([item], aloneDurable!, null);
                else fail(item, alone == Outcome.Unknown ? Unknowable(aloneError!) : aloneError!);
            }
            return Task.CompletedTask;
        }
        finally
        {
            if (finishing is null)
            {
                KassaMeters.RecordBatch(loop, batch.Count, Stopwatch.GetTimestamp() - started);
                _durableWaits.Release();
            }
        }
    }

    /// <summary>Waits for the commit to be durable, then answers every item; a failed fsync fails them all as unknown.</summary>
    private async Task<Outcome> FinishAsync(IReadOnlyList<T> items, Task durable, (long Started, long Committed)? batch)
    {
        try
        {
            await durable;
        }
        catch (Exception e)
        {
            foreach (var item in items) fail(item, Unknowable(e));
            return Outcome.Unknown;
        }
        finally
        {
            if (batch is { } b)
            {
                var now = Stopwatch.GetTimestamp();
                KassaMeters.RecordPhase(loop, KassaMeters.Phase.Durable, now - b.Committed);
                KassaMeters.RecordBatch(loop, items.Count, now - b.Started);
                _durableWaits.Release();
            }
        }
        CompleteAll(items);
        return Outcome.Committed;
    }

    private static UnavailableException Unknowable(Exception e) =>
        new("The database did not confirm whether this change was stored; retry it with the same idempotency key", e);

    private void CompleteAll(IReadOnlyList<T> items)
    {
        try
        {
            faults.Hit(loop, GroupCommitPoint.AfterCommit);
        }
        catch (InjectedFaultException)
        {
            // Stands for anything failing between the commit and the answers: the batch stays committed
            // and every waiter is still answered with what was decided; nothing runs again.
        }
        foreach (var item in items)
        {
            try
            {
                complete(item);
            }
            catch (Exception e)
            {
                fail(item, e);
            }
        }
    }

    private async Task<(Outcome, Exception?, Task?)> TryCommitAsync(IReadOnlyList<T> items)
    {
        var now = time.GetUtcNow();
        var batchId = Ids.New(IdPrefixes.GroupCommit, now);
        var workDone = false;
        long commitStarted = 0;
        try
        {
            var committed = await store.WriteCommittedAsync(async s =>
            {
                // PostgreSQL runs the work again after a deadlock: each attempt starts unfinished.
                workDone = false;
                // The marker first: on PostgreSQL it is held and sent with the work's first writes (one round trip
                // fewer); either way it commits or rolls back with them.
                await s.GroupCommits.RecordAsync(batchId, now);
                await write(s, items, () => faults.Hit(loop, GroupCommitPoint.BeforeWrite));
                faults.Hit(loop, GroupCommitPoint.DuringWrite);
                workDone = true;
                return true;
            }, commitIf: _ =>
            {
                faults.Hit(loop, GroupCommitPoint.AtCommitRolledBack);
                // From here to WriteAsync's return is the COMMIT itself (and, on SQLite, the write gate's release).
                commitStarted = Stopwatch.GetTimestamp();
                return true;
            }, ct: CancellationToken.None);
            KassaMeters.RecordPhase(loop, KassaMeters.Phase.Commit, Stopwatch.GetTimestamp() - commitStarted);
            faults.Hit(loop, GroupCommitPoint.AtCommitCommitted);
            return (Outcome.Committed, null, committed.Durable);
        }
        catch (Exception e) when (!workDone)
        {
            return (Outcome.RolledBack, e, null);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _outcomesResolved);
            KassaMeters.OutcomesResolved.Add(1, KassaMeters.LoopTag(loop));
            var resolved = await ResolveAsync(batchId, now);
            // The fence ran through WriteAsync, so whatever it found committed is durable by now.
            return (resolved, e, resolved == Outcome.Committed ? Task.CompletedTask : null);
        }
    }

    /// <summary>
    /// Whether the batch named <paramref name="batchId"/> committed. The fence insert conflicts with the
    /// batch's own marker: while the batch's transaction is still open on the server (a dropped client
    /// connection does not end it at once) the insert waits for it, so the answer is final.
    /// </summary>
    private async Task<Outcome> ResolveAsync(string batchId, DateTimeOffset now)
    {
        var delay = ResolveDelayFirst;
        for (var attempt = 1; attempt <= ResolveAttemptsMax; attempt++)
        {
            try
            {
                var fenced = await store.WriteAsync(s => s.GroupCommits.FenceAsync(batchId, now), ct: CancellationToken.None);
                return fenced ? Outcome.RolledBack : Outcome.Committed;
            }
            catch (Exception) when (attempt < ResolveAttemptsMax)
            {
                // Real time, not the (possibly manual) clock: this waits for the database, not for a business date.
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, ResolveDelayMax.Ticks));
            }
            catch (Exception)
            {
                break;
            }
        }
        return Outcome.Unknown;
    }
}
