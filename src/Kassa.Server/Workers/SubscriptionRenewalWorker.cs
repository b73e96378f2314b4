using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Server.Workers;

/// <summary>
/// Renews due subscriptions and runs due dunning retries (<see cref="RunRenewals"/>) every
/// <see cref="Interval"/>. Several nodes may run it at once: each renewal locks its subscription and a
/// period's invoice is unique, so a race costs a wasted transaction, never a second invoice.
/// </summary>
public sealed class SubscriptionRenewalWorker(IKassaStore store, PaymentProviders providers, TimeProvider time, ILogger<SubscriptionRenewalWorker> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var outcome = "failed";
            try
            {
                var summary = await RunRenewals.RunAsync(store, providers, time.GetUtcNow(),
                    e => logger.LogWarning(e, "a renewal failed; it is retried on the next round"), stoppingToken);
                if (summary.Renewed + summary.Ended + summary.Charges > 0)
                    logger.LogInformation("renewals: {Renewed} renewed, {Ended} ended, {Invoices} invoices, {Charges} charges, {Failures} failures",
                        summary.Renewed, summary.Ended, summary.Invoices, summary.Charges, summary.Failures);
                outcome = "completed";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "the renewal round failed; will retry in {Interval}", Interval);
            }
            finally
            {
                Kassa.Engine.Telemetry.KassaMeters.RenewalRunDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>("outcome", outcome));
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
