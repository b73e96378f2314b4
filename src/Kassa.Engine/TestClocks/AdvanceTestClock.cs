using Kassa.Core.Errors;
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
/// instant fully done and a new advance continues from there. Balances of the clock's customers reset
/// and expire lazily at the clock's time when they are next used by a renewal.
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

        for (var step = 0; step < StepsMax; step++)
        {
            var due = await store.ReadAsync(s => s.Subscriptions.NextDueOnClockAsync(op.Tenant, id, to), ct);
            if (due is not { } at) break;
            var instant = op.At(at);
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

        var done = await store.WriteAsync(async s =>
        {
            var clock = (await s.TestClocks.GetAsync(op.Tenant, id, forUpdate: true))!;
            var ready = clock with { FrozenTime = to, Status = TestClockRules.Ready };
            await s.TestClocks.UpdateAsync(ready);
            return ready;
        }, ct: ct);
        return TestClockResource.From(done);
    }
}
