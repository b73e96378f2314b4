using System.Threading.RateLimiting;

namespace Kassa.Server.Http;

/// <summary>
/// A token bucket per API key, on each node. Generous by default (a runaway client is slowed long
/// before it can starve others, while normal bursts pass); <c>0</c> turns limiting off.
/// <para>
/// The buckets live in one <see cref="PartitionedRateLimiter{TResource}"/> from the framework: it
/// creates a key's bucket on first use, replenishes every bucket from one timer, and drops a bucket
/// only after it has been full and unused for a while (about 10 s), under its own lock. So no request
/// can find its bucket disposed under it, and a busy key never gets a fresh burst because other keys
/// came and went; the set of buckets stays bounded by the keys active in the last seconds.
/// </para>
/// </summary>
public sealed class RateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;

    public RateLimits(int perSecond)
    {
        if (perSecond <= 0) return;
        var bucket = BucketFor(perSecond);
        _limiter = PartitionedRateLimiter.Create<string, string>(
            keyId => RateLimitPartition.GetTokenBucketLimiter(keyId, _ => bucket), StringComparer.Ordinal);
    }

    /// <summary>
    /// A bucket that holds a burst of twice the rate and refills at exactly <paramref name="perSecond"/>:
    /// a whole number of tokens per period, the period at least 100 ms (the shared timer's tick) so a
    /// refill is never skipped, e.g. 5,000 tokens per 100 ms for 50,000/s and 1 token per 200 ms for 5/s.
    /// </summary>
    public static TokenBucketRateLimiterOptions BucketFor(int perSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        var tokens = (perSecond + 9) / 10;
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = (int)Math.Min(int.MaxValue, perSecond * 2L),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerSecond * tokens / perSecond),
            // A request over the limit is refused at once with Retry-After; it never waits in a queue.
            QueueLimit = 0,
            // The partitioned limiter's own timer replenishes every bucket; no timer per key.
            AutoReplenishment = false,
        };
    }

    /// <summary>Null when the request may pass, else how long to wait.</summary>
    public TimeSpan? TryAcquire(string keyId)
    {
        if (_limiter is null) return null;
        using var lease = _limiter.AttemptAcquire(keyId);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : TimeSpan.FromSeconds(1);
    }

    public void Dispose() => _limiter?.Dispose();
}
