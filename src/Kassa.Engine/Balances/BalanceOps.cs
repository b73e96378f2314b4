using Kassa.Engine.Storage;
using Kassa.Core.Errors;
using Kassa.Engine.Common;

namespace Kassa.Engine.Balances;

/// <summary>
/// A request body that names its customer: a check or track runs at the customer's test-clock time, and the
/// mutation batcher sends every request on one customer to one writer loop.
/// </summary>
public interface ICustomerScoped
{
    string? CustomerId { get; }
}

/// <summary>
/// A request whose work starts by loading its customer's balance book for update and changes no other customer's
/// rows (a credit grant): on PostgreSQL a batch made only of such requests reads all their books ahead in one round
/// trip (<see cref="IBalanceStore.ReadAheadBooksAsync"/>) instead of one round trip each.
/// </summary>
public interface ILoadsCustomerBook : ICustomerScoped;

/// <summary>
/// One operation for the balance engine. It is validated before it is queued; the engine decides it
/// inside a batch and completes it only after that batch committed.
/// </summary>
public abstract class BalanceOp(Tenant tenant, string requestId, DateTimeOffset now)
{
    public Tenant Tenant { get; } = tenant;
    public string RequestId { get; } = requestId;
    public DateTimeOffset Now { get; } = now;
    /// <summary>
    /// The test clock whose time <see cref="Now"/> is (null: real time). A batch loads each clock's
    /// customers apart from the others, each at its own time.
    /// </summary>
    public string? ClockId { get; set; }
    /// <summary>The customers whose balances this operation needs loaded (and locked).</summary>
    public abstract string? CustomerId { get; }
    public abstract void Fail(Exception e);
    /// <summary>
    /// Work that must commit in the same transaction as this operation's decision — the stored answer
    /// of a request's <c>Idempotency-Key</c> (spec §1.3), so a crash can never leave the effect
    /// committed and the key free to run it again. Runs after the batch's writes, with the decision made.
    /// </summary>
    public Func<IStoreSession, Task>? CommitWith { get; set; }
    /// <summary>
    /// Bench ceiling routes only (<c>KASSA_BENCH_ROUTES=1</c>): an operation decided before it was queued, which the
    /// engine carries as far as this stage and no further (<see cref="BenchStage"/>). None for every real operation.
    /// </summary>
    public BenchStage Bench { get; set; }
    /// <summary>Whether the batch has decided this operation (checked before the batch writes anything).</summary>
    public abstract bool IsDecided { get; }
    /// <summary>Decides the operation as refused with <paramref name="error"/> (e.g. a total past the quantity bound).</summary>
    public abstract void Refuse(KassaError error);
}

public abstract class BalanceOp<T>(Tenant tenant, string requestId, DateTimeOffset now) : BalanceOp(tenant, requestId, now)
{
    private readonly TaskCompletionSource<Result<T>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Task<Result<T>> Completion => _done.Task;
    /// <summary>Decided in the batch; handed to the caller after the commit.</summary>
    public Result<T>? Decision { get; set; }
    public override bool IsDecided => Decision is not null;
    /// <summary>Answers the caller with the decision; only ever called after the commit, for a decided operation.</summary>
    public void Complete() => _done.TrySetResult(Decision!.Value);
    public override void Fail(Exception e) => _done.TrySetException(e);
    public override void Refuse(KassaError error) => Decision = error;
}

public sealed class CheckOp(Tenant tenant, string requestId, DateTimeOffset now, string customerId, string featureId, string entityId,
    long required, bool sendEvent, DateTimeOffset? lockExpiresAt, string? idempotencyKey) : BalanceOp<CheckResponse>(tenant, requestId, now)
{
    public override string CustomerId { get; } = customerId;
    public string FeatureId { get; } = featureId;
    public string EntityId { get; } = entityId;
    public long Required { get; } = required;
    public bool SendEvent { get; } = sendEvent;
    public DateTimeOffset? LockExpiresAt { get; } = lockExpiresAt;
    public string? IdempotencyKey { get; } = idempotencyKey;
}

public sealed class TrackOp(Tenant tenant, string requestId, DateTimeOffset now, string customerId, string featureId, string entityId,
    long value, string? idempotencyKey, DateTimeOffset occurredAt) : BalanceOp<TrackResponse>(tenant, requestId, now)
{
    public override string CustomerId { get; } = customerId;
    public string FeatureId { get; } = featureId;
    public string EntityId { get; } = entityId;
    public long Value { get; } = value;
    public string? IdempotencyKey { get; } = idempotencyKey;
    public DateTimeOffset OccurredAt { get; } = occurredAt;
}

public sealed class FinalizeLockOp(Tenant tenant, string requestId, DateTimeOffset now, string lockId, bool confirm, long? overrideValue)
    : BalanceOp<FinalizeResponse>(tenant, requestId, now)
{
    /// <summary>Known only once the lock is loaded; the batch loads locks first.</summary>
    public override string? CustomerId => null;
    public string LockId { get; } = lockId;
    public bool Confirm { get; } = confirm;
    public long? OverrideValue { get; } = overrideValue;
}

/// <summary>
/// Brings one customer's balances up to date without waiting for a request: ended periods reset
/// (with rollover), expired buckets recorded (grants emit credit_grant.expired), expired locks released.
/// Queued by the maintenance worker.
/// </summary>
public sealed class MaintainOp(Tenant tenant, string requestId, DateTimeOffset now, string customerId) : BalanceOp<bool>(tenant, requestId, now)
{
    public override string CustomerId { get; } = customerId;
}

/// <summary>Releases a held lock past its expiry (queued by the lock-expiry worker).</summary>
public sealed class ExpireLockOp(Tenant tenant, string requestId, DateTimeOffset now, string lockId) : BalanceOp<bool>(tenant, requestId, now)
{
    public override string? CustomerId => null;
    public string LockId { get; } = lockId;
}

/// <summary>
/// How far the balance engine carries a bench operation that arrives already decided, so bench/wrk.sh can price each
/// step of a check's path apart: the queue and the writer loop's answer alone, or also a batch transaction that writes
/// nothing but its group-commit marker and waits for its commit to be durable.
/// </summary>
public enum BenchStage
{
    None,
    /// <summary>Answered by the writer loop as soon as it takes the operation: no transaction.</summary>
    Queued,
    /// <summary>Rides in a batch (marker, COMMIT, durability) and is answered with it; nothing of its own is loaded or written.</summary>
    Committed,
}
