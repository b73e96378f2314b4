using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Kassa.Server.Http;

/// <summary>
/// A token bucket per API key, on each node. Generous by default (a runaway client is slowed long
/// before it can starve others, while normal bursts pass); <c>0</c> turns limiting off.
/// </summary>
public sealed class RateLimits : IDisposable
{
    public const int KeysTrackedMax = 10_000;
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);
    private readonly int _perSecond;

    public RateLimits(int perSecond) => _perSecond = perSecond;

    /// <summary>Null when the request may pass, else how long to wait.</summary>
    public TimeSpan? TryAcquire(string keyId)
    {
        if (_perSecond <= 0) return null;
        if (!_buckets.TryGetValue(keyId, out var bucket))
        {
            if (_buckets.Count >= KeysTrackedMax) Clear();
            bucket = _buckets.GetOrAdd(keyId, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = _perSecond * 2,
                TokensPerPeriod = Math.Max(1, _perSecond / 10),
                ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
        using var lease = bucket.AttemptAcquire();
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : TimeSpan.FromSeconds(1);
    }

    private void Clear()
    {
        foreach (var bucket in _buckets.Values) bucket.Dispose();
        _buckets.Clear();
    }

    public void Dispose() => Clear();
}
