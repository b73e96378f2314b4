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
public sealed class WebhookDeliveryWorker(IKassaStore store, TimeProvider time, KassaOptions options, WebhookSignal signal, ILogger<WebhookDeliveryWorker> logger)
    : BackgroundService
{
    public const int ConcurrentSendsMax = 16;
    /// <summary>
    /// The least time between rounds that found little to do. Every commit wakes the worker; without
    /// this pause a steady stream of changes would run two extra write transactions per change,
    /// which on SQLite's single writer halves the write throughput. Events wait at most this long.
    /// </summary>
    public static readonly TimeSpan CoalesceInterval = TimeSpan.FromMilliseconds(100);
    // Claim no more than can be sent at once: a claimed row waiting for a free sender would burn its
    // lease and could be sent again by another node.
    public const int ClaimBatchMax = ConcurrentSendsMax;
    /// <summary>Dispatch batches one round runs at most before it sends: a busy outbox never starves delivery.</summary>
    public const int DispatchBatchesPerRoundMax = 20;

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
                // Only a full dispatch batch means more events wait right now; a partial one means the outbox is drained.
                for (var round = 0; round < DispatchBatchesPerRoundMax; round++)
                {
                    if (await store.WriteAsync(s => DispatchEvents.Execute(s, time.GetUtcNow()), ct: stoppingToken) < DispatchEvents.BatchSizeMax) break;
                    busy = true;
                }
                var claimToken = $"{leaseToken}:{Guid.NewGuid():N}";
                var claimed = await store.WriteAsync(s => s.Webhooks.ClaimDueAsync(time.GetUtcNow(), options.WebhookLease, ClaimBatchMax, claimToken), ct: stoppingToken);
                if (claimed.Count > 0)
                {
                    busy = claimed.Count == ClaimBatchMax;
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
                    await Task.Delay(CoalesceInterval < options.WebhookPollInterval ? CoalesceInterval : options.WebhookPollInterval, stoppingToken);
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
