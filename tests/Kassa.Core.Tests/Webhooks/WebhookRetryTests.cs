using Kassa.Core.Webhooks;

namespace Kassa.Core.Tests.Webhooks;

public class WebhookRetryTests
{
    private static readonly DateTimeOffset FailedAt = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(200, false, DeliveryOutcome.Success)]
    [InlineData(201, false, DeliveryOutcome.Success)]
    [InlineData(204, false, DeliveryOutcome.Success)]
    [InlineData(299, false, DeliveryOutcome.Success)]
    [InlineData(199, false, DeliveryOutcome.Retry)]
    [InlineData(300, false, DeliveryOutcome.Retry)]
    [InlineData(301, false, DeliveryOutcome.Retry)]
    [InlineData(302, false, DeliveryOutcome.Retry)]
    [InlineData(307, false, DeliveryOutcome.Retry)]
    [InlineData(400, false, DeliveryOutcome.Retry)]
    [InlineData(401, false, DeliveryOutcome.Retry)]
    [InlineData(404, false, DeliveryOutcome.Retry)]
    [InlineData(409, false, DeliveryOutcome.Retry)]
    [InlineData(410, false, DeliveryOutcome.Gone)]
    [InlineData(429, false, DeliveryOutcome.Retry)]
    [InlineData(500, false, DeliveryOutcome.Retry)]
    [InlineData(503, false, DeliveryOutcome.Retry)]
    [InlineData(null, false, DeliveryOutcome.Retry)]
    [InlineData(null, true, DeliveryOutcome.Retry)]
    [InlineData(200, true, DeliveryOutcome.Retry)]
    [InlineData(410, true, DeliveryOutcome.Retry)]
    public void Classify(int? status, bool timedOut, DeliveryOutcome expected) =>
        Assert.Equal(expected, WebhookRetry.Classify(status, timedOut));

    [Theory]
    [InlineData(429, true)]
    [InlineData(503, true)]
    [InlineData(500, false)]
    [InlineData(301, false)]
    [InlineData(null, false)]
    public void Retry_after_is_honoured_only_on_429_and_503(int? status, bool expected) =>
        Assert.Equal(expected, WebhookRetry.HonoursRetryAfter(status));

    [Theory]
    [InlineData(1, 0, 0, 5)]
    [InlineData(2, 0, 5, 0)]
    [InlineData(3, 0, 30, 0)]
    [InlineData(4, 2, 0, 0)]
    [InlineData(5, 5, 0, 0)]
    [InlineData(6, 10, 0, 0)]
    [InlineData(7, 10, 0, 0)]
    public void The_schedule_without_jitter(int attemptsMade, int hours, int minutes, int seconds) =>
        Assert.Equal(FailedAt + new TimeSpan(hours, minutes, seconds), WebhookRetry.NextAttemptAt(attemptsMade, FailedAt));

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(int.MaxValue)]
    public void There_is_no_attempt_after_the_eighth(int attemptsMade)
    {
        Assert.Null(WebhookRetry.NextAttemptAt(attemptsMade, FailedAt));
        Assert.Null(WebhookRetry.NextAttemptAt(attemptsMade, FailedAt, 0.5, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void The_whole_schedule_spans_about_27_hours_over_eight_attempts()
    {
        var at = FailedAt;
        var attempts = 1;
        while (WebhookRetry.NextAttemptAt(attempts, at) is { } next)
        {
            at = next;
            attempts++;
        }
        Assert.Equal(8, attempts);
        Assert.Equal(new TimeSpan(1, 3, 35, 5), at - FailedAt);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Attempts_start_at_one(int attemptsMade) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WebhookRetry.NextAttemptAt(attemptsMade, FailedAt));

    [Fact]
    public void Jitter_zero_is_minus_ten_percent_and_one_half_is_no_change()
    {
        Assert.Equal(FailedAt + TimeSpan.FromSeconds(4.5), WebhookRetry.NextAttemptAt(1, FailedAt, 0.0));
        Assert.Equal(FailedAt + TimeSpan.FromSeconds(5), WebhookRetry.NextAttemptAt(1, FailedAt, 0.5));
        Assert.Equal(FailedAt + TimeSpan.FromHours(9), WebhookRetry.NextAttemptAt(7, FailedAt, 0.0));
        Assert.Equal(FailedAt + TimeSpan.FromHours(10), WebhookRetry.NextAttemptAt(7, FailedAt, 0.5));
        Assert.Equal(FailedAt + new TimeSpan(0, 4, 45), WebhookRetry.NextAttemptAt(2, FailedAt, 0.25));
    }

    [Fact]
    public void Jitter_just_under_one_is_just_under_plus_ten_percent()
    {
        // 0.9999999 is used to six decimal places: 999,999 millionths, so the factor is 1.0999998.
        Assert.Equal(FailedAt + TimeSpan.FromTicks(54_999_990), WebhookRetry.NextAttemptAt(1, FailedAt, 0.9999999));
        Assert.Equal(FailedAt + TimeSpan.FromHours(10) + TimeSpan.FromTicks(35_999_928_000), WebhookRetry.NextAttemptAt(7, FailedAt, 0.9999999));
        Assert.Equal(FailedAt + TimeSpan.FromTicks(54_999_990), WebhookRetry.NextAttemptAt(1, FailedAt, Math.BitDecrement(1.0)));
    }

    [Fact]
    public void Every_jittered_delay_stays_inside_plus_minus_ten_percent()
    {
        for (var attempt = 1; attempt < WebhookRetry.AttemptsMax; attempt++)
        {
            var delay = WebhookRetry.RetryDelays[attempt - 1];
            for (var step = 0; step < 1000; step++)
            {
                var next = WebhookRetry.NextAttemptAt(attempt, FailedAt, step / 1000.0)!.Value - FailedAt;
                Assert.InRange(next.Ticks, delay.Ticks * 9 / 10, delay.Ticks * 11 / 10 - 1);
            }
        }
    }

    [Theory]
    [InlineData(-0.000001)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Jitter_draws_outside_zero_to_one_are_refused(double draw) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WebhookRetry.NextAttemptAt(1, FailedAt, draw));

    [Fact]
    public void Retry_after_longer_than_the_schedule_wins()
    {
        Assert.Equal(FailedAt + TimeSpan.FromMinutes(1), WebhookRetry.NextAttemptAt(1, FailedAt, retryAfter: TimeSpan.FromMinutes(1)));
        Assert.Equal(FailedAt + TimeSpan.FromSeconds(4.6), WebhookRetry.NextAttemptAt(1, FailedAt, 0.0, TimeSpan.FromSeconds(4.6)));
    }

    [Fact]
    public void Retry_after_shorter_than_the_schedule_does_not_shorten_it()
    {
        Assert.Equal(FailedAt + TimeSpan.FromMinutes(30), WebhookRetry.NextAttemptAt(3, FailedAt, retryAfter: TimeSpan.FromMinutes(1)));
        Assert.Equal(FailedAt + TimeSpan.FromMinutes(27), WebhookRetry.NextAttemptAt(3, FailedAt, 0.0, TimeSpan.Zero));
    }

    [Fact]
    public void Retry_after_is_capped_at_24_hours()
    {
        Assert.Equal(FailedAt + TimeSpan.FromHours(24), WebhookRetry.NextAttemptAt(1, FailedAt, retryAfter: TimeSpan.FromHours(24)));
        Assert.Equal(FailedAt + TimeSpan.FromHours(24), WebhookRetry.NextAttemptAt(1, FailedAt, retryAfter: TimeSpan.FromHours(48)));
        Assert.Equal(FailedAt + TimeSpan.FromHours(24), WebhookRetry.NextAttemptAt(7, FailedAt, 0.999, TimeSpan.MaxValue));
    }

    [Fact]
    public void Negative_retry_after_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WebhookRetry.NextAttemptAt(1, FailedAt, retryAfter: TimeSpan.FromTicks(-1)));

    [Fact]
    public void ShouldDisable_after_three_days_of_failure_inclusive()
    {
        Assert.False(WebhookRetry.ShouldDisable(null, FailedAt));
        Assert.False(WebhookRetry.ShouldDisable(FailedAt, FailedAt));
        Assert.False(WebhookRetry.ShouldDisable(FailedAt, FailedAt + TimeSpan.FromDays(3) - TimeSpan.FromTicks(1)));
        Assert.True(WebhookRetry.ShouldDisable(FailedAt, FailedAt + TimeSpan.FromDays(3)));
        Assert.True(WebhookRetry.ShouldDisable(FailedAt, FailedAt + TimeSpan.FromDays(30)));
        Assert.False(WebhookRetry.ShouldDisable(FailedAt + TimeSpan.FromDays(1), FailedAt));
    }

    [Theory]
    [InlineData("120", 120)]
    [InlineData("0", 0)]
    [InlineData("0005", 5)]
    [InlineData(" 120 ", 120)]
    [InlineData("\t7", 7)]
    [InlineData("86399", 86_399)]
    [InlineData("86400", 86_400)]
    [InlineData("86401", 86_400)]
    [InlineData("999999", 86_400)]
    [InlineData("99999999999999999999999999999", 86_400)]
    public void Retry_after_delta_seconds(string header, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), WebhookRetry.ParseRetryAfter(header, FailedAt));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1.5")]
    [InlineData("5s")]
    [InlineData("5 5")]
    [InlineData("abc")]
    [InlineData("１２")]
    [InlineData("0x10")]
    [InlineData("Sun, 01 Mar 2026 12:02:00")]
    [InlineData("Mon, 01 Mar 2026 12:02:00 GMT")]
    [InlineData("2026-03-01T12:02:00Z")]
    [InlineData("Sat, 28 Feb 2026 12:00:00 GMT")]
    [InlineData("Sun, 01 Mar 2026 11:59:59 GMT")]
    public void Retry_after_garbage_and_past_dates_are_null(string? header) =>
        Assert.Null(WebhookRetry.ParseRetryAfter(header, FailedAt));

    [Fact]
    public void Retry_after_is_bounded_at_64_characters()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), WebhookRetry.ParseRetryAfter(new string(' ', 63) + "5", FailedAt));
        Assert.Null(WebhookRetry.ParseRetryAfter(new string(' ', 64) + "5", FailedAt));
    }

    [Theory]
    [InlineData("Sun, 01 Mar 2026 12:02:00 GMT", 120)]
    [InlineData("Sun, 01 Mar 2026 12:00:00 GMT", 0)]
    [InlineData("Sunday, 01-Mar-26 12:02:00 GMT", 120)]
    [InlineData("Sun Mar  1 12:02:00 2026", 120)]
    [InlineData("Mon, 02 Mar 2026 12:00:00 GMT", 86_400)]
    [InlineData("Wed, 04 Mar 2026 12:00:00 GMT", 86_400)]
    public void Retry_after_http_dates(string header, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), WebhookRetry.ParseRetryAfter(header, FailedAt));

    [Fact]
    public void Retry_after_dates_are_measured_from_the_exact_now() =>
        Assert.Equal(TimeSpan.FromMilliseconds(119_750),
            WebhookRetry.ParseRetryAfter("Sun, 01 Mar 2026 12:02:00 GMT", FailedAt.AddMilliseconds(250)));
}
