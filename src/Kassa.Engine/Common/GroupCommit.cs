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

    /// <summary>Commits <paramref name="batch"/> and completes or fails every item; never throws.</summary>
    public async Task RunAsync(IReadOnlyList<T> batch)
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
        var started = Stopwatch.GetTimestamp();
        try
        {
            await RunBatchAsync(batch);
        }
        finally
        {
            KassaMeters.RecordBatch(loop, batch.Count, Stopwatch.GetTimestamp() - started);
        }
    }

    private async Task RunBatchAsync(IReadOnlyList<T> batch)
    {
        var (outcome, error) = await TryCommitAsync(batch);
        switch (outcome)
        {
            case Outcome.Committed:
                CompleteAll(batch);
                return;
            case Outcome.Unknown:
                foreach (var item in batch) fail(item, Unknowable(error!));
                return;
        }
        if (batch.Count == 1)
        {
            fail(batch[0], error!);
            return;
        }
        // Rolled back for sure: one item may have broken the batch, so run each alone.
        Interlocked.Increment(ref _batchesSplit);
        KassaMeters.BatchesSplit.Add(1, KassaMeters.LoopTag(loop));
        Activity.Current?.SetTag("split", true);
        foreach (var item in batch)
        {
            var (alone, aloneError) = await TryCommitAsync([item]);
            if (alone == Outcome.Committed) CompleteAll([item]);
            else fail(item, alone == Outcome.Unknown ? Unknowable(aloneError!) : aloneError!);
        }
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

    private async Task<(Outcome, Exception?)> TryCommitAsync(IReadOnlyList<T> items)
    {
        var now = time.GetUtcNow();
        var batchId = Ids.New(IdPrefixes.GroupCommit, now);
        var workDone = false;
        long commitStarted = 0;
        try
        {
            await store.WriteAsync(async s =>
            {
                // PostgreSQL runs the work again after a deadlock: each attempt starts unfinished.
                workDone = false;
                await write(s, items, () => faults.Hit(loop, GroupCommitPoint.BeforeWrite));
                faults.Hit(loop, GroupCommitPoint.DuringWrite);
                await s.GroupCommits.RecordAsync(batchId, now);
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
            return (Outcome.Committed, null);
        }
        catch (Exception e) when (!workDone)
        {
            return (Outcome.RolledBack, e);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _outcomesResolved);
            KassaMeters.OutcomesResolved.Add(1, KassaMeters.LoopTag(loop));
            return (await ResolveAsync(batchId, now), e);
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
