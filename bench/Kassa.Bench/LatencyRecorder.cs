using System.Diagnostics;
using System.Numerics;

namespace Kassa.Bench;

/// <summary>
/// A log-linear (HDR-style) latency histogram in nanoseconds, owned by one worker. Recording is an array
/// increment: no allocation and no lock on the hot path; workers' recorders are merged after the phase.
/// </summary>
/// <remarks>
/// Layout: values below 128 ns get one exact bucket each; above that, every power-of-two range
/// [2^m, 2^(m+1)) is split into 128 equal sub-buckets, so a bucket is at most 1/128 (0.8 %) of the values
/// it holds. The top range ends at 2^36 ns (about 68.7 s), past the 60 s any request can take here
/// (the client times out at 30 s); anything larger is clamped into the last bucket. 3,840 longs = 30 KB.
/// </remarks>
internal sealed class LatencyRecorder
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;
    private const int TopExponent = 36;
    private const int BucketCount = SubBucketCount + (TopExponent - SubBucketBits) * SubBucketCount;

    private readonly long[] counts = new long[BucketCount];

    public long Count { get; private set; }

    /// <summary>The exact largest value recorded, kept apart because buckets round.</summary>
    public long MaxNanoseconds { get; private set; }

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        if (nanoseconds > MaxNanoseconds)
        {
            MaxNanoseconds = nanoseconds;
        }

        counts[IndexOf(nanoseconds)]++;
        Count++;
    }

    public void Add(LatencyRecorder other)
    {
        for (var i = 0; i < BucketCount; i++)
        {
            counts[i] += other.counts[i];
        }

        Count += other.Count;
        MaxNanoseconds = Math.Max(MaxNanoseconds, other.MaxNanoseconds);
    }

    public LatencySummary Summarize() => new(
        Count,
        ValueAtQuantile(50, 100),
        ValueAtQuantile(90, 100),
        ValueAtQuantile(99, 100),
        ValueAtQuantile(999, 1000),
        MaxNanoseconds);

    /// <summary>
    /// The value at rank ceil(q·n) (1-based) for q = numerator/denominator: the smallest recorded value
    /// with at least that many values at or below it. The quantile is a fraction of integers because
    /// 0.999·1000 in floating point is 998.999…, which would make the ceiling one rank off.
    /// </summary>
    /// <returns>
    /// The upper edge of the bucket holding that rank, never more than the exact maximum: a percentile
    /// read this way can overstate a latency by under 1 %, never understate it.
    /// </returns>
    public long ValueAtQuantile(long numerator, long denominator)
    {
        if (Count == 0)
        {
            return 0;
        }

        // Count is bounded by the requests of one phase of at most 10 minutes, far below long.MaxValue / 1000.
        var rank = Math.Max(1, (Count * numerator + denominator - 1) / denominator);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestValueIn(i), MaxNanoseconds);
            }
        }

        return MaxNanoseconds;
    }

    /// <summary>Converts a <see cref="Stopwatch.GetTimestamp"/> delta to nanoseconds without floating point.</summary>
    public static long ToNanoseconds(long stopwatchTicks)
    {
        var frequency = Stopwatch.Frequency;
        if (frequency == 1_000_000_000)
        {
            return stopwatchTicks;
        }

        // Split so neither product can overflow: whole seconds, then the remainder (< frequency) scaled.
        return stopwatchTicks / frequency * 1_000_000_000 + stopwatchTicks % frequency * 1_000_000_000 / frequency;
    }

    /// <summary>Converts a duration to <see cref="Stopwatch"/> ticks, the unit phase deadlines are kept in.</summary>
    public static long ToStopwatchTicks(TimeSpan span) =>
        span.Ticks / TimeSpan.TicksPerSecond * Stopwatch.Frequency
        + span.Ticks % TimeSpan.TicksPerSecond * Stopwatch.Frequency / TimeSpan.TicksPerSecond;

    private static int IndexOf(long value)
    {
        if (value < SubBucketCount)
        {
            return (int)value;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)value);
        if (exponent >= TopExponent)
        {
            return BucketCount - 1;
        }

        var shift = exponent - SubBucketBits;
        var sub = (int)(value >> shift) - SubBucketCount;
        return SubBucketCount + shift * SubBucketCount + sub;
    }

    private static long HighestValueIn(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }

        var shift = (index - SubBucketCount) / SubBucketCount;
        var sub = (index - SubBucketCount) % SubBucketCount;
        var lowest = (long)(SubBucketCount + sub) << shift;
        return lowest + (1L << shift) - 1;
    }
}

/// <summary>Latency figures of one phase, in nanoseconds.</summary>
internal sealed record LatencySummary(long Count, long P50, long P90, long P99, long P999, long Max);
