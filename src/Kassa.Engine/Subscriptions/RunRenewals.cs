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
    public const int PassesMax = 1_000;

    public sealed record Summary(int Renewed, int Ended, int Invoices, int Charges, int Failures);

    public static async Task<Summary> RunAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, Action<Exception>? onFailure, CancellationToken ct)
    {
        int renewed = 0, ended = 0, invoices = 0, charges = 0, failures = 0;
        for (var pass = 0; pass < PassesMax; pass++)
        {
            var due = await store.ReadAsync(s => s.Subscriptions.DueForRenewalAsync(now, ChunkSize), ct);
            var progressed = 0;
            foreach (var (tenant, id) in due)
            {
                var op = new OperationContext(tenant, Actor.System, $"renewal_{id}", now);
                try
                {
                    var result = await store.WriteAsync(s => RenewSubscription.Execute(s, op, id), ct: ct);
                    if (result is null) continue;
                    progressed++;
                    if (result.Ended) ended++;
                    else renewed++;
                    if (result.InvoiceId is not null) invoices++;
                    if (result.PaymentId is { } paymentId)
                    {
                        charges++;
                        await ChargeInvoice.CompleteAsync(store, providers, op, paymentId, ct);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A unique-key race with another node lands here too: that node billed the period.
                    failures++;
                    onFailure?.Invoke(e);
                }
            }
            if (due.Count < ChunkSize && progressed == due.Count) break;
            if (progressed == 0) break;
        }
        charges += await RetryDueAsync(store, providers, now, onFailure, ct);
        return new Summary(renewed, ended, invoices, charges, failures);
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
