using System.Globalization;

namespace Kassa.Core.Webhooks;

/// <summary>What one delivery attempt means for the delivery and its endpoint.</summary>
public enum DeliveryOutcome
{
    /// <summary>A 2xx response arrived within <see cref="WebhookRetry.ResponseTimeout"/>: the delivery is done.</summary>
    Success,

    /// <summary>Anything else that is not 410: the delivery is tried again on the schedule of <see cref="WebhookRetry.NextAttemptAt"/>.</summary>
    Retry,

    /// <summary>410 Gone: the receiver says the endpoint no longer exists; disable it and stop retrying.</summary>
    Gone,
}

/// <summary>
/// The retry policy of webhook deliveries (Kassa API §10): any 2xx within 15 seconds is success;
/// otherwise the delivery is retried 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failed
/// attempt (eight attempts over about 27 hours); an endpoint that has failed continuously for
/// 3 days is disabled. <c>Retry-After</c> is honoured on 429 and 503, 410 disables the endpoint at
/// once, and redirects are not followed, so a 3xx is a failure. Every function is pure: times and
/// the jitter draw are arguments.
/// </summary>
public static class WebhookRetry
{
    /// <summary>How long the sender waits for a response before the attempt counts as failed.</summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The most attempts one delivery gets: the first try and seven retries.</summary>
    public const int AttemptsMax = 8;

    /// <summary>The delay after the n-th failed attempt is element n − 1.</summary>
    public static readonly IReadOnlyList<TimeSpan> RetryDelays =
    [
        TimeSpan.FromSeconds(5),
        TimeSpan.FromMinutes(5),
        TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(2),
        TimeSpan.FromHours(5),
        TimeSpan.FromHours(10),
        TimeSpan.FromHours(10),
    ];

    /// <summary>
    /// The longest wait a <c>Retry-After</c> header can impose, so that a hostile or broken receiver
    /// cannot park a delivery forever.
    /// </summary>
    public static readonly TimeSpan RetryAfterMax = TimeSpan.FromHours(24);

    /// <summary>How long an endpoint may fail without a single success before it is disabled.</summary>
    public static readonly TimeSpan DisableAfter = TimeSpan.FromDays(3);

    /// <summary>
    /// The jitter spread: a delay moves by at most this share of itself either way, so that many
    /// deliveries failing together do not all come back at the same instant.
    /// </summary>
    public const int JitterPercent = 10;

    // An HTTP-date has 29 characters; anything much longer is not a Retry-After value.
    private const int RetryAfterLengthMax = 64;

    // The jitter draw is turned into an integer number of millionths so the delay itself is
    // computed in whole ticks.
    private const long JitterResolution = 1_000_000;

    private static readonly string[] HttpDateFormats =
    [
        "r", // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        "dddd, dd'-'MMM'-'yy HH':'mm':'ss 'GMT'", // obsolete RFC 850 form, which RFC 9110 still requires recipients to read
        "ddd MMM d HH':'mm':'ss yyyy", // obsolete asctime() form, likewise
    ];

    /// <summary>
    /// Classifies an attempt. <paramref name="statusCode"/> is null when no response arrived
    /// (connection refused, TLS failure, address refused by <see cref="WebhookUrlPolicy"/>).
    /// A timed-out attempt is a <see cref="DeliveryOutcome.Retry"/> whatever its status, because a
    /// late answer is no answer. 200–299 is <see cref="DeliveryOutcome.Success"/>, 410 is
    /// <see cref="DeliveryOutcome.Gone"/>, and everything else, including 3xx, 429 and 5xx, is
    /// <see cref="DeliveryOutcome.Retry"/>.
    /// </summary>
    public static DeliveryOutcome Classify(int? statusCode, bool timedOut)
    {
        if (timedOut || statusCode is null) return DeliveryOutcome.Retry;
        if (statusCode is >= 200 and <= 299) return DeliveryOutcome.Success;
        if (statusCode == 410) return DeliveryOutcome.Gone;
        return DeliveryOutcome.Retry;
    }

    /// <summary>
    /// Whether a response's <c>Retry-After</c> header is honoured: only on 429 Too Many Requests and
    /// 503 Service Unavailable, the two statuses where it means "come back later".
    /// </summary>
    public static bool HonoursRetryAfter(int? statusCode) => statusCode is 429 or 503;

    /// <summary>
    /// When to try a delivery again after its <paramref name="attemptsMade"/>-th attempt failed at
    /// <paramref name="failedAt"/>, or null when it has had all <see cref="AttemptsMax"/> attempts.
    /// The delay is <see cref="RetryDelays"/>[attemptsMade − 1]. With <paramref name="jitterFraction"/>
    /// (a uniform draw in [0, 1) made by the caller) the delay is scaled by 0.9 + 0.2 × draw: 0 gives
    /// −10 %, 0.5 no change, and draws just under 1 just under +10 %. The draw is used to six decimal
    /// places and the delay is computed in whole ticks, so equal inputs give equal times on every
    /// machine. With <paramref name="retryAfter"/> (pass it only when
    /// <see cref="HonoursRetryAfter"/> is true) the delay becomes the larger of the jittered delay and
    /// <paramref name="retryAfter"/> capped at <see cref="RetryAfterMax"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="attemptsMade"/> is below 1, <paramref name="jitterFraction"/> is outside [0, 1),
    /// or <paramref name="retryAfter"/> is negative.
    /// </exception>
    public static DateTimeOffset? NextAttemptAt(int attemptsMade, DateTimeOffset failedAt, double? jitterFraction = null, TimeSpan? retryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        if (jitterFraction is { } draw && !(draw >= 0 && draw < 1))
            throw new ArgumentOutOfRangeException(nameof(jitterFraction), "the jitter draw must be in [0, 1)");
        if (retryAfter < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(retryAfter), "Retry-After cannot be negative");
        if (attemptsMade >= AttemptsMax) return null;

        var delayTicks = RetryDelays[attemptsMade - 1].Ticks;
        if (jitterFraction is { } fraction)
        {
            // Truncating to millionths keeps the only floating-point step before the delay; the
            // clamp guards against a draw so close to 1 that the product rounds up to a million.
            var millionths = Math.Min((long)(fraction * JitterResolution), JitterResolution - 1);
            // (2 × millionths − 10⁶) / 10⁶ runs over [−1, 1); times 10 % gives the spread. The
            // product is formed in 128 bits so no delay length can overflow it, and the division
            // truncates toward zero, so the result never leaves the ±10 % band.
            delayTicks += (long)((Int128)delayTicks * (2 * millionths - JitterResolution) * JitterPercent / (100 * JitterResolution));
        }
        if (retryAfter is { } wait)
        {
            var waitTicks = Math.Min(wait.Ticks, RetryAfterMax.Ticks);
            delayTicks = Math.Max(delayTicks, waitTicks);
        }
        return failedAt + TimeSpan.FromTicks(delayTicks);
    }

    /// <summary>
    /// Whether an endpoint should be disabled: true when it has been failing without a success since
    /// <paramref name="failingSince"/> for at least <see cref="DisableAfter"/> (3 days, inclusive).
    /// Null means the endpoint is not failing.
    /// </summary>
    public static bool ShouldDisable(DateTimeOffset? failingSince, DateTimeOffset now) =>
        failingSince is { } since && now - since >= DisableAfter;

    /// <summary>
    /// Reads a <c>Retry-After</c> header as a wait from <paramref name="now"/>: either delta-seconds
    /// (ASCII digits only) or an HTTP-date in any of the three forms RFC 9110 defines. Returns null
    /// for a missing, empty, over-long (more than 64 characters), signed, fractional or otherwise
    /// unreadable value, and for a date before <paramref name="now"/>. Waits longer than
    /// <see cref="RetryAfterMax"/> come back as <see cref="RetryAfterMax"/>.
    /// </summary>
    public static TimeSpan? ParseRetryAfter(string? header, DateTimeOffset now)
    {
        if (header is null || header.Length > RetryAfterLengthMax) return null;
        var value = header.AsSpan().Trim(" \t");
        if (value.IsEmpty) return null;

        if (char.IsAsciiDigit(value[0]))
        {
            foreach (var c in value)
            {
                if (!char.IsAsciiDigit(c)) return null;
            }
            var significant = value.TrimStart('0');
            // Six digits already exceed the cap (a day is 86,400 seconds), so longer numbers need
            // not be parsed at all and cannot overflow.
            if (significant.Length > 6) return RetryAfterMax;
            var seconds = significant.IsEmpty ? 0 : int.Parse(significant, NumberStyles.None, CultureInfo.InvariantCulture);
            var delta = TimeSpan.FromSeconds(seconds);
            return delta > RetryAfterMax ? RetryAfterMax : delta;
        }

        if (!DateTimeOffset.TryParseExact(value, HttpDateFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowInnerWhite, out var date))
            return null;
        var wait = date - now;
        if (wait < TimeSpan.Zero) return null;
        return wait > RetryAfterMax ? RetryAfterMax : wait;
    }
}
