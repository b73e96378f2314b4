using Kassa.Server.Http;

namespace Kassa.Server.Tests.Http;

/// <summary>The per-key token buckets (<see cref="RateLimits"/>), without HTTP.</summary>
public sealed class RateLimitsTests
{
    private static int Burst(RateLimits limits, string key)
    {
        var passed = 0;
        while (limits.TryAcquire(key) is null && passed < 1_000) passed++;
        return passed;
    }

    [Fact]
    public void A_limited_key_stays_limited_while_thousands_of_other_keys_come_and_go()
    {
        using var limits = new RateLimits(5);
        Assert.Equal(10, Burst(limits, "key_busy"));
        // The hand-made dictionary cleared (and disposed) every bucket at 10,000 keys: the busy key then got a fresh burst.
        for (var i = 0; i < 12_000; i++) Assert.Null(limits.TryAcquire($"key_{i}"));
        // The limiter refills on real time (one token every 200 ms), so the loop above may have earned the busy key a
        // token or two on a slow machine (it took 242 ms once in CI); a fresh burst is all 10 at once, which only a loop
        // of ~2 s could earn. So: fewer than 10 now, whatever the machine's speed within that.
        Assert.InRange(Burst(limits, "key_busy"), 0, 9);
    }

    [Fact]
    public async Task Many_keys_from_many_threads_never_find_a_bucket_disposed_under_them()
    {
        using var limits = new RateLimits(1_000);
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 15_000; i++)
            {
                try
                {
                    limits.TryAcquire($"key_{(i * 7 + t) % 25_000}");
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })));
        Assert.Equal(0, failures);
    }

    [Fact]
    public async Task A_limited_key_gets_a_retry_after_and_passes_again_once_it_has_waited()
    {
        using var limits = new RateLimits(5);
        Assert.Equal(10, Burst(limits, "key_a"));
        var wait = limits.TryAcquire("key_a");
        // 5 per second: one token every 200 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(200), wait);
        // Another key is not affected.
        Assert.Null(limits.TryAcquire("key_b"));
        await Task.Delay(wait!.Value + TimeSpan.FromMilliseconds(250));
        Assert.Null(limits.TryAcquire("key_a"));
    }

    [Theory]
    [InlineData(1, 2, 1, 1000)]
    [InlineData(5, 10, 1, 200)]
    [InlineData(15, 30, 2, 133)]
    [InlineData(50_000, 100_000, 5_000, 100)]
    public void The_bucket_holds_twice_the_rate_and_refills_at_exactly_the_rate(int perSecond, int burst, int tokens, int periodMs)
    {
        var o = RateLimits.BucketFor(perSecond);
        Assert.Equal(burst, o.TokenLimit);
        Assert.Equal(tokens, o.TokensPerPeriod);
        Assert.Equal(periodMs, (int)o.ReplenishmentPeriod.TotalMilliseconds);
        Assert.Equal(0, o.QueueLimit);
    }

    [Fact]
    public void Zero_turns_limiting_off()
    {
        using var limits = new RateLimits(0);
        for (var i = 0; i < 10_000; i++) Assert.Null(limits.TryAcquire("key_a"));
    }
}
