namespace Kassa.Server.Workers;

/// <summary>
/// Wakes this node's webhook worker after a commit that may have queued work, so deliveries start
/// within milliseconds instead of at the next poll. Other nodes find the work by polling.
/// </summary>
public sealed class WebhookSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Poke()
    {
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up is enough.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _wake.WaitAsync(timeout, ct);
}
