using Kassa.Core.Errors;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.TestClocks;

/// <summary>
/// <c>POST /v1/test_clocks/{id}/advance {"to"}</c> (spec §11): moves the clock forward and runs, in time
/// order, everything of its customers that falls due up to <c>to</c> — each renewal (with its invoice
/// and charge), period end cancellation, trial end and dunning retry happens at the exact instant it
/// was due, so a year of monthly renewals produces the same invoices, payments and ledger a year of
/// real time would. Each step is its own transaction (as the workers run them); the clock's time is
/// stored after each instant, so an advance that stops part way (a crash) leaves the clock at the last
/// instant fully done and a new advance continues from there. The clock's customers' balances are kept
/// in the same time order: a held lock expires, a period resets and a credit grant expires at the instant
/// each falls due (before a renewal due at the same instant), as the real-time maintenance worker does
/// for everyone else.
/// </summary>
public static class AdvanceTestClock
{
    /// <summary>Instants one advance may visit: a bound on the work a single call can start.</summary>
    public const int StepsMax = 10_000;

    public sealed record Request(DateTimeOffset? To);

    public static async Task<Result<TestClockResource>> Execute(IKassaStore store, PaymentProviders providers, OperationContext op, string id, Request r,
        CancellationToken ct)
    {
        if (r.To is not { } to) return KassaError.Missing("to");
        to = to.ToUniversalTime();
        var started = await store.WriteAsync<Result<TestClockRecord>>(async s =>
        {
            var clock = await s.TestClocks.GetAsync(op.Tenant, id, forUpdate: true);
            if (clock is null) return KassaError.NotFound("test_clock", id);
            if (to <= clock.FrozenTime) return KassaError.Validation("to", "must be after the clock's frozen_time");
            if (to - clock.FrozenTime > TestClockRules.AdvanceMax)
                return KassaError.Validation("to", $"may be at most {TestClockRules.AdvanceMax.TotalDays} days after the clock's frozen_time; advance in steps");
            var advancing = clock with { Status = TestClockRules.Advancing };
            await s.TestClocks.UpdateAsync(advancing);
            return advancing;
        }, commitIf: x => x.IsOk, ct: ct);
        if (!started.IsOk) return started.Error!;

        // Balance upkeep done so far: everything due at or before it has run (a thing the upkeep leaves due
        // is not visited again, so the loop always moves forward).
        DateTimeOffset? balancesDoneThrough = null;
        for (var step = 0; step < StepsMax; step++)
        {
            var renewalDue = await store.ReadAsync(s => s.Subscriptions.NextDueOnClockAsync(op.Tenant, id, to), ct);
            var balanceDue = await store.ReadAsync(s => s.ClockBalances.NextBalanceDueOnClockAsync(op.Tenant, id, balancesDoneThrough, to), ct);
            if (Earliest(renewalDue, balanceDue) is not { } at) break;
            var instant = op.At(at);
            // At one instant, balances first: a lock that expired or a grant that ran out before the renewal is not counted by it.
            if (balanceDue == at)
            {
                await MaintainBalancesAsync(store, instant, id, balancesDoneThrough, ct);
                balancesDoneThrough = at;
            }
            var (subs, retries) = await store.ReadAsync(s => s.Subscriptions.DueOnClockAsync(op.Tenant, id, at, RunRenewals.ChunkSize), ct);
            foreach (var subId in subs)
            {
                var renewed = await store.WriteAsync(s => RenewSubscription.Execute(s, instant, subId), ct: ct);
                if (renewed?.PaymentId is { } paymentId) await ChargeInvoice.CompleteAsync(store, providers, instant, paymentId, ct);
            }
            foreach (var invoiceId in retries)
            {
                if (await store.WriteAsync(s => RetryInvoicePayment.Execute(s, instant, invoiceId), ct: ct) is { } paymentId)
                    await ChargeInvoice.CompleteAsync(store, providers, instant, paymentId, ct);
            }
            await store.WriteAsync(async s =>
            {
                var clock = (await s.TestClocks.GetAsync(op.Tenant, id, forUpdate: true))!;
                if (clock.FrozenTime < at) await s.TestClocks.UpdateAsync(clock with { FrozenTime = at });
                return true;
            }, ct: ct);
        }

        // Revenue of prepaid credits used meanwhile moves from deferred to usage revenue, as the worker does in real time.
        await Ledger.RecognizePrepaidRevenue.RunAsync(store, op.At(to).Now, ct);
        var done = await store.WriteAsync(async s =>
        {
            var clock = (await s.TestClocks.GetAsync(op.Tenant, id, forUpdate: true))!;
            var ready = clock with { FrozenTime = to, Status = TestClockRules.Ready };
            await s.TestClocks.UpdateAsync(ready);
            return ready;
        }, ct: ct);
        // Auto top-ups of the clock's customers whose balance is below the threshold at the clock's new time, as the
        // worker buys them in real time (after the clock has moved, so the purchase is made and recorded at its time).
        await TopUps.RunAutoTopUps.RunForClockAsync(store, providers, op.At(to), id, ct);
        return TestClockResource.From(done);
    }

    /// <summary>Customers whose balances one upkeep transaction brings up to date.</summary>
    public const int BalanceChunk = 200;

    /// <summary>Pages of due customers one instant may visit (<see cref="BalanceChunk"/> each).</summary>
    public const int BalancePagesMax = 50;

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// Brings the balances of the clock's customers with something due at <c>instant.Now</c> up to date
    /// at that instant, through the balance engine's own decisions and writes (<see cref="ApplyBalanceBatch"/>):
    /// expired locks released (<c>lock.expired</c>), periods reset, buckets expired (<c>credit_grant.expired</c>),
    /// each logged and emitted at the clock's instant, in one transaction per chunk of customers.
    /// </summary>
    private static async Task MaintainBalancesAsync(IKassaStore store, OperationContext instant, string clockId, DateTimeOffset? after, CancellationToken ct)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        for (var page = 0; page < BalancePagesMax; page++)
        {
            var due = await store.ReadAsync(s => s.ClockBalances.CustomersWithBalancesDueOnClockAsync(instant.Tenant, clockId, after, instant.Now, BalanceChunk), ct);
            var fresh = due.Where(done.Add).ToList();
            if (fresh.Count > 0)
            {
                var ops = fresh.Select(c => (BalanceOp)new MaintainOp(instant.Tenant, instant.RequestId, instant.Now, c) { ClockId = clockId }).ToList();
                await store.WriteAsync(async s =>
                {
                    await ApplyBalanceBatch.Execute(s, ops);
                    return true;
                }, ct: ct);
            }
            // A customer still listed after its upkeep has nothing more the upkeep can do now; only new ones count.
            if (due.Count < BalanceChunk || fresh.Count == 0) break;
        }
    }
}
