using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.TopUps;

namespace Kassa.Server.Workers;

/// <summary>
/// Buys due auto top-ups (<see cref="RunAutoTopUps"/>) every <see cref="Interval"/>, outside the balance
/// engine: a check or track that takes a balance below a threshold answers at once, and the purchase
/// follows within the interval. Several nodes may run it at once: the claim lets exactly one buy. The
/// scan position is kept between rounds, so every configured top-up is reached however many there are.
/// </summary>
public sealed class AutoTopUpWorker(IKassaStore store, PaymentProviders providers, TimeProvider time, ILogger<AutoTopUpWorker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly RunAutoTopUps.ScanPosition _position = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var report = await RunAutoTopUps.RunOnceAsync(store, providers, time.GetUtcNow(), _position, stoppingToken);
                if (report.Succeeded + report.Failed + report.Errors > 0)
                    logger.LogInformation("auto top-up: {Succeeded} bought, {Failed} failed, {Errors} could not be finished now",
                        report.Succeeded, report.Failed, report.Errors);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "the auto top-up round failed; retrying in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
