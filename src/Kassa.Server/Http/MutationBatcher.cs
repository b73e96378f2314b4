using System.Threading.Channels;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Server.Http;

/// <summary>What a mutation's work decided inside the transaction: the answer, and whether its effect is kept.</summary>
/// <param name="Ok">The use case succeeded (its effect is kept unless <paramref name="LostClaim"/>).</param>
/// <param name="LostClaim">The request lost its Idempotency-Key claim: its effect is rolled back and it answers 409.</param>
internal sealed record MutationOutcome(int Status, byte[] Body, bool Ok, bool LostClaim)
{
    public bool Keep => Ok && !LostClaim;
}

/// <summary>
/// One request's work waiting in the batcher. <see cref="Work"/> runs inside the batch's transaction, in a
/// savepoint of its own; <see cref="Refused"/> (optional) runs in the same transaction after a refused
/// request's savepoint was rolled back (it stores the refusal under the request's Idempotency-Key).
/// </summary>
internal sealed class MutationItem(Func<IStoreSession, Task<MutationOutcome>> work, Func<IStoreSession, MutationOutcome, Task>? refused)
{
    private readonly TaskCompletionSource<MutationOutcome?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Func<IStoreSession, Task<MutationOutcome>> Work { get; } = work;

    /// <summary>
    /// The tenant and what the request is about (its customer, else the object its route names): requests with one
    /// subject go to one writer loop (null goes to any), and on PostgreSQL the batch reads the customers its subjects
    /// name ahead, in one round trip (an id that names another object finds nothing).
    /// </summary>
    public (Tenant Tenant, string Id)? Subject { get; init; }

    /// <summary>
    /// The work starts by loading its subject customer's balance book for update and writes no other customer's
    /// rows (<see cref="Kassa.Engine.Balances.ILoadsCustomerBook"/>): a batch of only such requests reads their books
    /// ahead (PostgreSQL).
    /// </summary>
    public bool LoadsBook { get; init; }
    public Func<IStoreSession, MutationOutcome, Task>? Refused { get; } = refused;

    /// <summary>What the work decided in the batch's current attempt; null when it threw (it then runs again alone).</summary>
    public MutationOutcome? Outcome { get; set; }

    /// <summary>
    /// Completes after the batch's COMMIT with the outcome, or with null when the request must run again in
    /// a transaction of its own (its work threw inside the batch, or the batch rolled back); faults with
    /// <see cref="UnavailableException"/> when the commit's outcome stayed unknown or the server is stopping.
    /// </summary>
    public Task<MutationOutcome?> Completion => _done.Task;

    /// <summary>
    /// Set when the work itself refused to run now (<see cref="UnavailableException"/>, e.g. the server is
    /// stopping): the request answers it (503) after the batch instead of running again.
    /// </summary>
    public UnavailableException? Refusal { get; set; }

    public void Complete()
    {
        if (Refusal is { } refusal) _done.TrySetException(refusal);
        else _done.TrySetResult(Outcome);
    }

    /// <summary>
    /// The batch (even run alone) did not commit. An unknown outcome (<see cref="UnavailableException"/>)
    /// is answered as such (503; the client retries with its key). A sure rollback runs the request once
    /// more in a transaction of its own, exactly as without the batcher, so it answers what it would have
    /// answered alone.
    /// </summary>
    public void Fail(Exception e)
    {
        if (e is UnavailableException) _done.TrySetException(e);
        else _done.TrySetResult(null);
    }
}

/// <summary>
/// Group commit for ordinary API mutations (ADR 0010): <see cref="Api"/>'s <c>Mutate</c> (customers, credit
/// grants, entities, catalog writes, subscriptions, invoices, …) hands its work here instead of opening a
/// transaction of its own. A writer loop takes what is waiting (up to the batch size, waiting at most the
/// batch wait for more) and runs every request's work in one transaction, each inside a savepoint: a
/// request that fails (an error result, a lost claim, an exception) is rolled back to its savepoint alone,
/// together with the rows it buffered for the commit. Every request is answered only after the COMMIT.
/// The commit itself follows <see cref="GroupCommit{T}"/> (marker row, fence, run-alone on rollback), the
/// same machinery as the balance engine and meter ingest.
/// <para>
/// Not batched: <c>MutateThen</c>/<c>MutateInSteps</c> (a provider call between two transactions), the
/// idempotency claim itself (a short transaction before the work, so a concurrent retry sees the key in
/// use), previews (always rolled back), and the balance engine's own operations.
/// </para>
/// </summary>
public sealed class MutationBatcher
{
    /// <summary>Requests waiting for a writer; past this the API answers 429 overloaded.</summary>
    public const int QueueCapacity = 10_000;

    /// <summary>
    /// Default batch size per engine. PostgreSQL keeps at most 64 subtransaction ids per transaction in
    /// shared memory; a transaction with more savepoints that wrote slows every snapshot on the server
    /// (subtransaction cache overflow), so its batches stay at 64.
    /// </summary>
    public const int BatchSizeSqlite = 256;
    public const int BatchSizePostgres = 64;
    /// <summary>
    /// Writer loops on PostgreSQL by default, and the most an operator may set. Two since the batch reads its
    /// customers ahead and a request's savepoint and writes ride with the COMMIT (ADR 0022): what is left a batch
    /// is its two round trips and WAL flush, which fewer, larger batches share better (wrk.sh, two rounds:
    /// customer updates 0.104 / 0.099 of /healthz with four loops, 0.122 / 0.121 with two; grants 0.035–0.044 either way).
    /// </summary>
    public const int WritersPostgres = 2;
    public const int WritersLimit = 64;

    /// <summary>
    /// The longest a batched request waits for a row lock on PostgreSQL before it is set aside to run alone:
    /// longer than another batch normally holds its locks (a few milliseconds), far shorter than the 1 s a
    /// deadlock would otherwise cost.
    /// </summary>
    public static readonly TimeSpan LockWaitMax = TimeSpan.FromMilliseconds(50);

    /// <summary>The largest batch size and batch wait an operator may set.</summary>
    public const int BatchSizeLimit = 1_000;
    public static readonly TimeSpan BatchWaitLimit = TimeSpan.FromMilliseconds(100);

    private readonly Channel<MutationItem>[] _queues;
    private int _nextUnkeyed;
    private readonly GroupCommit<MutationItem> _commit;
    private long _batches;
    private long _items;

    public MutationBatcher(IKassaStore store, TimeProvider time, GroupCommitFaults faults, Hosting.KassaOptions options)
    {
        var postgres = store.Engine == "postgres";
        // On for both engines by default: on PostgreSQL since its loops were sharded by customer and a batch's
        // sessions remember their features, batched updates and grants measured faster and with a shorter tail
        // than a transaction each (ADR 0010, 2026-12-04).
        Enabled = options.MutationBatching ?? true;
        BatchSizeMax = options.MutationBatchSizeMax ?? (postgres ? BatchSizePostgres : BatchSizeSqlite);
        BatchWait = options.MutationBatchWait;
        // SQLite has one writer, so one loop. On PostgreSQL one loop runs its requests' round trips one after
        // another (measured: slower than a transaction per request), so several loops overlap them. Unlike
        // balance operations, a batch of arbitrary mutations cannot take its row locks in one global order:
        // two loops' batches that touch the same rows in opposite orders deadlock, and PostgreSQL finds a
        // deadlock only after deadlock_timeout (1 s; measured p99 1.1 s). So a batch waits at most
        // LockWaitMax for any row lock (LimitLockWaitsAsync): a request that would wait longer is rolled back
        // to its savepoint and runs again alone after the batch, where it waits as long as it needs.
        // Each loop has its own queue, and a request goes to the loop its shard key (its customer, else the
        // object its route names) hashes to: two loops' batches then never hold locks on one customer's
        // rows, which is what grants met on when the loops shared one queue. A request without a key goes to
        // the loops in turn.
        var writers = postgres ? options.MutationWritersPostgres ?? WritersPostgres : 1;
        _queues = Enumerable.Range(0, writers).Select(_ => Channel.CreateBounded<MutationItem>(new BoundedChannelOptions(QueueCapacity / writers)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        })).ToArray();
        _commit = new GroupCommit<MutationItem>(store, time, GroupCommitLoop.Mutations, faults, (s, items, beforeWrite) => WriteAsync(s, items, beforeWrite, time.GetUtcNow), i => i.Complete(), (i, e) => i.Fail(e));
    }

    /// <summary>False when mutations run one transaction each (<c>KASSA_MUTATION_BATCHING=0</c>, the benchmark baseline).</summary>
    public bool Enabled { get; }
    public int BatchSizeMax { get; }
    public TimeSpan BatchWait { get; }

    public long Batches => Interlocked.Read(ref _batches);
    public long Items => Interlocked.Read(ref _items);
    public long OutcomesResolved => _commit.OutcomesResolved;
    public long BatchesSplit => _commit.BatchesSplit;
    public int QueueLength => _queues.Sum(q => q.Reader.Count);

    /// <summary>Queues a request's work; false when its loop's queue is full (the caller answers 429).</summary>
    internal bool TryEnqueue(MutationItem item) => _queues[Shard(item)].Writer.TryWrite(item);

    private int Shard(MutationItem item) => item.Subject is { } subject
        ? Shards.Of(_queues.Length, subject.Tenant.AccountId, subject.Id)
        : (int)((uint)Interlocked.Increment(ref _nextUnkeyed) % (uint)_queues.Length);

    /// <summary>
    /// Every request's savepoint has this one name: each is released (SQLite) or nested inside the kept ones
    /// (PostgreSQL) before the next opens, and a rollback names only the latest; one name is one statement text
    /// in the writer's statement cache, where a name per batch position was up to 256.
    /// </summary>
    private const string SavepointName = "m";

    private static async Task WriteAsync(IStoreSession s, IReadOnlyList<MutationItem> items, Action beforeWrite, Func<DateTimeOffset> now)
    {
        var savepoints = s as ISavepoints ?? throw new InvalidOperationException("The store's sessions offer no savepoints");
        beforeWrite();
        await savepoints.LimitLockWaitsAsync(LockWaitMax);
        // Most batched requests start by reading their customer to change it: read together (PostgreSQL: one round trip,
        // which also carries the lock limit and the marker; then a request that only writes sends nothing of its own
        // before the COMMIT, ADR 0022). A failure here is the batch's, as a failing marker is: each request runs alone.
        var subjects = new HashSet<(Tenant, string)>();
        foreach (var item in items)
            if (item.Subject is { } subject) subjects.Add(subject);
        await s.Customers.ReadAheadForUpdateAsync(subjects);
        // A batch of grants only (PostgreSQL): their books too, in one more round trip, instead of one each. Only when
        // every request is one: another kind may write a customer's balance rows before that customer's grant loads
        // its book (a subscription change, a deletion), which the read-ahead would not have seen.
        if (subjects.Count > 1 && items.All(i => i.LoadsBook && i.Subject is not null)) await s.Balances.ReadAheadBooksAsync(subjects, now());
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            // PostgreSQL may run the whole batch again after a deadlock: each attempt decides afresh.
            item.Outcome = null;
            item.Refusal = null;
            await savepoints.SavepointAsync(SavepointName);
            MutationOutcome outcome;
            try
            {
                outcome = await item.Work(s);
            }
            catch (InjectedFaultException)
            {
                throw;
            }
            catch (UnavailableException e)
            {
                // The work said it cannot run now: undone alone, and answered as such (503) after the batch,
                // as it would have been without the batcher; the client retries.
                await savepoints.RollbackToAsync(SavepointName);
                item.Refusal = e;
                continue;
            }
            catch (Exception)
            {
                // Whatever broke (a constraint, a deadlock with another transaction, a bug) is undone alone;
                // the request runs again in a transaction of its own after this batch, exactly as it would
                // have without the batcher, and answers whatever that run answers.
                await savepoints.RollbackToAsync(SavepointName);
                continue;
            }
            if (outcome.Keep) await savepoints.ReleaseAsync(SavepointName);
            else
            {
                await savepoints.RollbackToAsync(SavepointName);
                if (item.Refused is { } refused && !outcome.LostClaim) await refused(s, outcome);
            }
            item.Outcome = outcome;
        }
    }

    /// <summary>Runs the writer loops until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(_queues.Select(q => RunLoopAsync(q.Reader, ct)));

    private async Task RunLoopAsync(ChannelReader<MutationItem> queue, CancellationToken ct)
    {
        var batch = new List<MutationItem>();
        try
        {
            while (await queue.WaitToReadAsync(ct))
            {
                await TakeAsync(queue, batch, ct);
                if (batch.Count == 0) continue;
                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _items, batch.Count);
                // The next batch starts once this one committed; its answers follow its fsync (ADR 0011).
                await _commit.StartAsync(batch);
                // A new list each time: the batch still being answered keeps its own.
                batch = [];
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Whatever is still queued at shutdown never reached a transaction: fail it so callers answer 503 and clients retry.
        var stopping = new UnavailableException("The server is stopping; retry the request");
        foreach (var item in batch) item.Fail(stopping);
        while (queue.TryRead(out var left)) left.Fail(stopping);
        // Decided and committed batches are answered before the loop ends.
        await _commit.AnsweredAsync();
    }

    /// <summary>Takes what is waiting, up to the batch size; with a batch wait, waits that long at most for more.</summary>
    private async Task TakeAsync(ChannelReader<MutationItem> queue, List<MutationItem> batch, CancellationToken ct)
    {
        while (batch.Count < BatchSizeMax && queue.TryRead(out var item)) batch.Add(item);
        if (BatchWait <= TimeSpan.Zero || batch.Count == 0) return;
        // Real time, not the (possibly manual) clock: this paces the database, not a business date.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (batch.Count < BatchSizeMax)
        {
            var left = BatchWait - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(left);
            try
            {
                if (!await queue.WaitToReadAsync(timeout.Token)) return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return;
            }
            while (batch.Count < BatchSizeMax && queue.TryRead(out var more)) batch.Add(more);
        }
    }
}
