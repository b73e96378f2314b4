using Kassa.Engine.Checkout;
using Kassa.Engine.Storage;

namespace Kassa.Server.Workers;

/// <summary>
/// Expires checkout sessions whose <c>expires_at</c> has passed (<see cref="ExpireCheckoutSession.SweepAsync"/>):
/// their incomplete subscriptions expire and their unpaid invoices are voided. Every <see cref="Interval"/>, at
/// most <see cref="ChunksPerRound"/> chunks of <see cref="ExpireCheckoutSession.ChunkSize"/> a round, so a backlog
/// is worked off over a few rounds without holding the database. Several nodes may sweep at once: each session is
/// locked and re-checked in its own transaction. A read of an expired-but-open session expires it too, so the
/// interval only bounds how long a list can still show it open.
/// </summary>
public sealed class CheckoutExpiryWorker(IKassaStore store, TimeProvider time, ILogger<CheckoutExpiryWorker> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    public const int ChunksPerRound = 10;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var seen = 0;
                for (var chunk = 0; chunk < ChunksPerRound; chunk++)
                {
                    var n = await ExpireCheckoutSession.SweepAsync(store, time.GetUtcNow(), stoppingToken);
                    seen += n;
                    if (n < ExpireCheckoutSession.ChunkSize) break;
                }
                if (seen > 0) logger.LogInformation("checkout expiry: looked at {Sessions} sessions past their expiry", seen);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "checkout expiry round failed; retrying in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
