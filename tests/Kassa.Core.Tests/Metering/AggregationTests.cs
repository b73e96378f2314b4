using Kassa.Core.Metering;

namespace Kassa.Core.Tests.Metering;

public class AggregationTests
{
    [Theory]
    [InlineData("count", Aggregation.Count)]
    [InlineData("sum", Aggregation.Sum)]
    [InlineData("max", Aggregation.Max)]
    [InlineData("min", Aggregation.Min)]
    [InlineData("unique_count", Aggregation.UniqueCount)]
    [InlineData("latest", Aggregation.Latest)]
    public void Wire_names_round_trip(string wire, Aggregation expected)
    {
        Assert.True(Aggregations.TryParse(wire, out var parsed));
        Assert.Equal(expected, parsed);
        Assert.Equal(wire, Aggregations.ToWire(expected));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Count")]
    [InlineData("SUM")]
    [InlineData("unique-count")]
    [InlineData("uniqueCount")]
    [InlineData(" sum")]
    [InlineData("avg")]
    public void Anything_else_is_refused(string? wire)
    {
        Assert.False(Aggregations.TryParse(wire, out var parsed));
        Assert.Equal(default, parsed);
    }

    [Fact]
    public void Only_count_needs_no_value_property()
    {
        Assert.Equal([Aggregation.Count], Enum.GetValues<Aggregation>().Where(a => !Aggregations.NeedsValueProperty(a)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Aggregations.ToWire((Aggregation)42));
    }
}
