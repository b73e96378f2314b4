using System.Text.Json;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Pricing;
using Kassa.Core.Validation;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// <c>POST /v1/locks/{id}/finalize</c> (spec §5.3): <c>confirm</c> consumes <c>override_value</c>
/// (default: what is held; more is tracked like track, less returns to the balance) or
/// <c>release</c> returns the hold. Finalizing a lock that is no longer held is <c>409 invalid_state</c>.
/// </summary>
public static class FinalizeLock
{
    public sealed record Request(string? Action, decimal? OverrideValue);

    public static Result<FinalizeLockOp> Validate(Request r, string lockId, Tenant tenant, string requestId, DateTimeOffset now)
    {
        if (r.Action is null) return KassaError.Missing("action");
        if (r.Action is not ("confirm" or "release")) return KassaError.Validation("action", "must be confirm or release");
        long? overrideValue = null;
        if (r.OverrideValue is { } o)
        {
            if (r.Action != "confirm") return KassaError.Validation("override_value", "applies only to confirm");
            if (Micro.Problem(o, allowZero: true, allowNegative: false, out var m) is { } q) return KassaError.Validation("override_value", q);
            overrideValue = m;
        }
        return new FinalizeLockOp(tenant, requestId, now, lockId, r.Action == "confirm", overrideValue);
    }
}

public static partial class ApplyBalanceBatch
{
    private sealed partial class Decider
    {
        private Result<FinalizeResponse> Finalize(FinalizeLockOp op)
        {
            if (!book.Locks.TryGetValue(op.LockId, out var l)) return KassaError.NotFound("lock", op.LockId);
            // Bringing the balance up to date first releases the lock if it expired.
            var live = book.Get(l.CustomerId, l.FeatureId, l.EntityId, op.Now, OnLockExpired, OnGrantExpired);
            l = book.Locks[op.LockId];
            if (l.Status != LockStatus.Held) return KassaError.InvalidState($"Lock '{op.LockId}' is already {BalanceWords.Wire(l.Status)}");
            if (live is null) return KassaError.InvalidState($"Lock '{op.LockId}' belongs to a balance that no longer exists");
            var before = live.Remaining(op.Now);
            LockRecord done;
            if (op.Confirm)
            {
                var consume = op.OverrideValue ?? l.Held;
                if (live.Header.Unlimited) live.Balance.Confirm([], consume, op.Now);
                else live.Balance.Confirm(l.Parts, consume, op.Now);
                // No usage record: a finalize has no idempotency key to claim (the lock's status makes a retry
                // answer invalid_state), and the lock row keeps what was consumed (ADR 0016).
                done = l with { Status = LockStatus.Confirmed, Consumed = consume, FinalizedAt = op.Now };
            }
            else
            {
                if (!live.Header.Unlimited) live.Balance.Release(l.Parts);
                done = l with { Status = LockStatus.Released, Consumed = 0, FinalizedAt = op.Now };
            }
            // Held units that came back pay the period's overage first (a hold released while later usage went past zero).
            if (!live.Header.Unlimited) live.Balance.SettleOverage(op.Now);
            book.SetLock(done);
            live.Touched = true;
            Log(live, op.Now, "lock", l.Id);
            Exhausted(live, before, op.Now, op.RequestId);
            return new FinalizeResponse(new LockView(done.Id, done.Status, Micro.ToDecimal(done.Held), Micro.ToDecimal(done.Consumed ?? 0)), live.View(op.Now));
        }

    }
}
