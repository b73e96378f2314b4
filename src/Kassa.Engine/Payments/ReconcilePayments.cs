using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// Completes payment and refund attempts whose request never did (the process died, or the outcome
/// transaction failed, between the begin and the record): each is completed exactly as the request
/// would have, calling the provider again with the attempt's id as idempotency key, so a charge that
/// did happen is found and recorded, and one that did not happens now — once. Only attempts older than
/// <see cref="Grace"/> are touched, so a request still working on its own attempt is left alone; even
/// if both ran, each completion re-reads the attempt locked and does nothing when it is settled.
/// </summary>
public static class ReconcilePayments
{
    /// <summary>How old an unsettled attempt must be before it counts as abandoned: far above a provider call's time.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    /// <summary>Attempts read per query.</summary>
    public const int ChunkSize = 100;

    /// <summary>Chunks per run: a run ends even if completions keep failing; the next run picks up the rest.</summary>
    public const int ChunksMax = 10;

    public sealed record Report(int Payments, int Refunds, int Failures);

    public static Task<Report> RunOnceAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, CancellationToken ct) =>
        RunOnceAsync(store, providers, now, Grace, ct);

    /// <summary>As the other overload, with another grace period (a crash test restarts a process and wants its attempt completed at once).</summary>
    public static async Task<Report> RunOnceAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, TimeSpan grace, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var before = now - grace;
        int payments = 0, refunds = 0, failures = 0;
        var skip = new HashSet<string>(StringComparer.Ordinal);
        for (var chunk = 0; chunk < ChunksMax; chunk++)
        {
            var due = (await store.ReadAsync(s => s.Payments.ProcessingPaymentsAsync(before, ChunkSize), ct)).Where(a => skip.Add(a.Id)).ToList();
            foreach (var attempt in due)
            {
                try
                {
                    var done = await ChargeInvoice.CompleteAsync(store, providers, Context(attempt, now), attempt.Id, ct);
                    if (done is { IsOk: true, Value.Status: not PaymentStatuses.Processing }) payments++;
                    else failures++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One attempt that cannot be completed now (a provider outage) must not stop the others.
                    failures++;
                }
            }
            if (due.Count == 0) break;
        }
        for (var chunk = 0; chunk < ChunksMax; chunk++)
        {
            var due = (await store.ReadAsync(s => s.Payments.PendingRefundsAsync(before, ChunkSize), ct)).Where(a => skip.Add(a.Id)).ToList();
            foreach (var attempt in due)
            {
                try
                {
                    var done = await RefundPayment.CompleteAsync(store, providers, Context(attempt, now), attempt.Id, ct);
                    if (done is { IsOk: true, Value.Status: not PaymentStatuses.RefundPending }) refunds++;
                    else failures++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures++;
                }
            }
            if (due.Count == 0) break;
        }
        return new Report(payments, refunds, failures);
    }

    private static OperationContext Context(UnsettledAttempt attempt, DateTimeOffset now) =>
        new(attempt.Tenant, Actor.System, "req_payment_reconcile", now);
}
