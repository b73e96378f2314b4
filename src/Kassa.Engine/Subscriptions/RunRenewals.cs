using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// One round of the renewal worker (and of a test clock's advance): renews every subscription due at
/// <paramref name="now"/> in chunks of <see cref="ChunkSize"/>, one transaction per subscription (a
/// failing one is logged by the caller and does not stop the others), then runs the dunning retries
/// that are due; every charge attempt written is completed after its transaction committed. A
/// subscription several periods behind is renewed once per pass, oldest period first, until it is
/// current or <see cref="PassesMax"/> is reached. Safe on several nodes: each renewal locks its
/// subscription and re-checks it is due, and the invoice is unique per subscription and period.
/// </summary>
public static class RunRenewals
{
    public const int ChunkSize = 200;

    /// <summary>Renewals committed together (see <see cref="RenewBatchAsync"/>).</summary>
    public const int BatchSize = 200;
    public const int PassesMax = 1_000;

    public sealed record Summary(int Renewed, int Ended, int Invoices, int Charges, int Failures);

    public static async Task<Summary> RunAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, Action<Exception>? onFailure, CancellationToken ct)
    {
        int renewed = 0, ended = 0, invoices = 0, charges = 0, failures = 0;
        for (var pass = 0; pass < PassesMax; pass++)
        {
            var due = await store.ReadAsync(s => s.Subscriptions.DueForRenewalAsync(now, ChunkSize), ct);
            var progressed = 0;
            foreach (var batch in due.Chunk(BatchSize))
            {
                var (results, failed) = await RenewBatchAsync(store, batch, now, onFailure, ct);
                failures += failed;
                // Renewal invoices' attempts come with their records; the rest (a final invoice at a period-end
                // cancel, a scheduled switch's first invoice) by id.
                var begun = new List<ChargeInvoice.BegunCharge>();
                var attempts = new List<(OperationContext, string)>();
                foreach (var (tenant, result) in results)
                {
                    progressed++;
                    if (result.Ended) ended++;
                    else renewed++;
                    if (result.InvoiceId is not null) invoices++;
                    if (result.Charge is { } charge) begun.Add(charge);
                    else if (result.PaymentId is { } paymentId) attempts.Add((Op(tenant, result.SubscriptionId, now), paymentId));
                }
                charges += begun.Count + attempts.Count;
                await ChargeInvoice.CompleteManyAsync(store, providers, begun, ct);
                await ChargeInvoice.CompleteManyAsync(store, providers, attempts, ct);
            }
            if (due.Count < ChunkSize && progressed == due.Count) break;
            if (progressed == 0) break;
        }
        charges += await RetryDueAsync(store, providers, now, onFailure, ct);
        ended += await ExpireIncompleteAsync(store, now, onFailure, ct);
        try
        {
            await Ledger.RecognizePrepaidRevenue.RunAsync(store, now, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Recognition is caught up on the next round; a failure here must not hide the renewals' summary.
            onFailure?.Invoke(e);
        }
        return new Summary(renewed, ended, invoices, charges, failures);
    }

    /// <summary>
    /// Subscriptions renewed in one transaction: a commit (an fsync) per <see cref="BatchSize"/> renewals
    /// instead of per renewal. Each renewal locks and re-checks its own subscription, so the batch is a
    /// sequence of independent renewals that happen to commit together. If any of them throws, the
    /// batch is rolled back and each renewal runs again alone, so one bad subscription costs only itself.
    /// </summary>
    private static async Task<(List<(Tenant Tenant, RenewSubscription.Renewed Result)> Results, int Failures)> RenewBatchAsync(IKassaStore store,
        (Tenant Tenant, string Id)[] batch, DateTimeOffset now, Action<Exception>? onFailure, CancellationToken ct)
    {
        if (batch.Length > 1)
        {
            try
            {
                var together = await store.WriteAsync(async s =>
                {
                    var list = new List<(Tenant, RenewSubscription.Renewed)>(batch.Length);
                    foreach (var (tenant, id) in batch)
                        if (await RenewSubscription.Execute(s, Op(tenant, id, now), id) is { } r) list.Add((tenant, r));
                    return list;
                }, ct: ct);
                return (together, 0);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Rolled back as a whole: each renewal runs again alone below, and only the bad one fails.
            }
        }
        var results = new List<(Tenant, RenewSubscription.Renewed)>(batch.Length);
        var failures = 0;
        foreach (var (tenant, id) in batch)
        {
            try
            {
                if (await store.WriteAsync(s => RenewSubscription.Execute(s, Op(tenant, id, now), id), ct: ct) is { } r) results.Add((tenant, r));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A unique-key race with another node lands here too: that node billed the period.
                failures++;
                onFailure?.Invoke(e);
            }
        }
        return (results, failures);
    }

    private static OperationContext Op(Tenant tenant, string id, DateTimeOffset now) => new(tenant, Actor.System, $"renewal_{id}", now);

    /// <summary>Expires incomplete subscriptions past their window (<see cref="ExpireIncompleteSubscription"/>), one transaction each.</summary>
    private static async Task<int> ExpireIncompleteAsync(IKassaStore store, DateTimeOffset now, Action<Exception>? onFailure, CancellationToken ct)
    {
        var expired = 0;
        var due = await store.ReadAsync(s => s.Subscriptions.IncompleteBeforeAsync(now - ExpireIncompleteSubscription.After, ChunkSize), ct);
        foreach (var (tenant, id) in due)
        {
            try
            {
                if (await store.WriteAsync(s => ExpireIncompleteSubscription.Execute(s, Op(tenant, id, now), id), ct: ct)) expired++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                onFailure?.Invoke(e);
            }
        }
        return expired;
    }

    private static async Task<int> RetryDueAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, Action<Exception>? onFailure, CancellationToken ct)
    {
        var charges = 0;
        for (var pass = 0; pass < PassesMax; pass++)
        {
            var due = await store.ReadAsync(s => s.Invoices.DueForPaymentRetryAsync(now, ChunkSize), ct);
            foreach (var (tenant, id) in due)
            {
                var op = new OperationContext(tenant, Actor.System, $"dunning_{id}", now);
                try
                {
                    if (await store.WriteAsync(s => RetryInvoicePayment.Execute(s, op, id), ct: ct) is { } paymentId)
                    {
                        charges++;
                        await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, ct);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    onFailure?.Invoke(e);
                }
            }
            if (due.Count < ChunkSize) break;
        }
        return charges;
    }
}
