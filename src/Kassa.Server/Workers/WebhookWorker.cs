using Kassa.Engine.Storage;
using Kassa.Engine.Webhooks;
using Kassa.Server.Hosting;

namespace Kassa.Server.Workers;

/// <summary>
/// Moves events from the outbox to webhook endpoints: fans new events out to queue rows, claims due
/// rows under a lease (safe with several nodes on one database), sends them concurrently, and
/// records each attempt. Wakes on this node's commits and polls for the rest. A node killed
/// mid-delivery leaves its rows leased; once the lease ends another node (or this one, restarted)
/// delivers them again: at least once, never lost.
/// </summary>
public sealed class WebhookWorker(IKassaStore store, TimeProvider time, KassaOptions options, WebhookSignal signal, ILogger<WebhookWorker> logger)
    : BackgroundService
{
    public const int ConcurrentSendsMax = 16;
    // Claim no more than can be sent at once: a claimed row waiting for a free sender would burn its
    // lease and could be sent again by another node.
    public const int ClaimBatchMax = ConcurrentSendsMax;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var sender = new WebhookSender(time);
        using var sends = new SemaphoreSlim(ConcurrentSendsMax);
        var leaseToken = Guid.NewGuid().ToString("N");
        while (!stoppingToken.IsCancellationRequested)
        {
            var busy = false;
            try
            {
                while (await store.WriteAsync(s => DispatchEvents.Execute(s, time.GetUtcNow()), ct: stoppingToken) > 0) busy = true;
                var claimToken = $"{leaseToken}:{Guid.NewGuid():N}";
                var claimed = await store.WriteAsync(s => s.Webhooks.ClaimDueAsync(time.GetUtcNow(), options.WebhookLease, ClaimBatchMax, claimToken), ct: stoppingToken);
                if (claimed.Count > 0)
                {
                    busy = true;
                    await Task.WhenAll(claimed.Select(async d =>
                    {
                        await sends.WaitAsync(stoppingToken);
                        try
                        {
                            var result = await sender.SendAsync(d, stoppingToken);
                            await store.WriteAsync(async s =>
                            {
                                await RecordDeliveryAttempt.Execute(s, d, result, time.GetUtcNow(), Random.Shared.NextDouble());
                                return true;
                            }, ct: CancellationToken.None);
                        }
                        finally
                        {
                            sends.Release();
                        }
                    }));
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "webhook delivery round failed; retrying after {Interval}", options.WebhookPollInterval);
            }
            if (!busy)
            {
                try
                {
                    await signal.WaitAsync(options.WebhookPollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
