using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// Completes payment and refund attempts left unsettled by a crash or a failed outcome transaction
/// (<see cref="ReconcilePayments"/>): once at start — what a restart must clean up — and then every
/// <see cref="Interval"/>. Several nodes may run it at once: every completion re-reads its attempt
/// locked and leaves a settled one alone, and the provider key makes a repeated call harmless.
/// </summary>
public sealed class PaymentReconcileWorker(IKassaStore store, PaymentProviders providers, TimeProvider time, ILogger<PaymentReconcileWorker> logger,
    Hosting.KassaOptions? options = null)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var report = await ReconcilePayments.RunOnceAsync(store, providers, time.GetUtcNow(),
                    options?.PaymentReconcileGrace ?? ReconcilePayments.Grace, stoppingToken);
                if (report.Payments + report.Refunds + report.Failures > 0)
                {
                    logger.LogInformation("payment reconcile: completed {Payments} payments and {Refunds} refunds; {Failures} could not be completed now",
                        report.Payments, report.Refunds, report.Failures);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "payment reconcile round failed; retrying in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
