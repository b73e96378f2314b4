using System.Globalization;
using System.Text.Json;
using Kassa.Engine.Json;

namespace Kassa.Server.Tests.Engine;

/// <summary>Timestamps are written by hand (UtcTimestampConverter): the text must be exactly what the format string gave.</summary>
public sealed class TimestampJsonTests
{
    private static string Expected(DateTimeOffset t) =>
        "\"" + t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + "\"";

    [Fact]
    public void Every_timestamp_is_written_as_the_format_string_wrote_it()
    {
        var edges = new[]
        {
            DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch,
            new DateTimeOffset(2024, 2, 29, 23, 59, 59, 999, TimeSpan.Zero),
            new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.FromHours(14)),
            new DateTimeOffset(9, 1, 2, 3, 4, 5, TimeSpan.Zero),
            new DateTimeOffset(999, 10, 11, 12, 13, 14, TimeSpan.FromMinutes(-90)),
        };
        var random = new Random(20261206);
        var samples = edges.Concat(Enumerable.Range(0, 20_000).Select(_ =>
            new DateTimeOffset(random.NextInt64(DateTimeOffset.MinValue.UtcTicks + TimeSpan.TicksPerDay, DateTimeOffset.MaxValue.UtcTicks - TimeSpan.TicksPerDay), TimeSpan.Zero)
                .ToOffset(TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1)))));
        foreach (var t in samples)
        {
            Assert.Equal(Expected(t), JsonSerializer.Serialize(t, KassaJson.Options));
            Assert.Equal(Expected(t), JsonSerializer.Serialize<DateTimeOffset?>(t, KassaJson.Options));
        }
        Assert.Equal("null", JsonSerializer.Serialize<DateTimeOffset?>(null, KassaJson.Options));
    }
}
