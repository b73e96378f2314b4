using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class MeterContributionTests
{
    [Fact]
    public void An_event_of_another_name_or_outside_the_filter_contributes_nothing()
    {
        Assert.True(MeterContribution.TryFrom(Meter(), "other", J("{'tokens': 5}"), out var none, out _));
        Assert.Null(none);
        Assert.True(MeterContribution.TryFrom(Meter(filter: "{'model': 'a'}"), "llm.call", J("{'model': 'b', 'tokens': 5}"), out var filtered, out _));
        Assert.Null(filtered);
    }

    [Fact]
    public void A_matching_event_gives_its_value_and_group()
    {
        Assert.True(MeterContribution.TryFrom(Meter(groupBy: ["model"]), "llm.call", J("{'model': 'a', 'tokens': '2.5'}"), out var c, out _));
        Assert.Equal(new MeterContribution(2_500_000, "{\"model\":\"a\"}", null), c);
        Assert.True(MeterContribution.TryFrom(Meter(Aggregation.Count), "llm.call", J("{}"), out var count, out _));
        Assert.Equal(new MeterContribution(1_000_000, "", null), count);
    }

    [Fact]
    public void Unique_count_keeps_the_distinct_value_and_counts_one_unit()
    {
        Assert.True(MeterContribution.TryFrom(Meter(Aggregation.UniqueCount, "user"), "llm.call", J("{'user': 42}"), out var c, out _));
        Assert.Equal(new MeterContribution(1_000_000, "", "42"), c);
    }

    [Fact]
    public void A_matching_event_the_meter_cannot_count_is_an_error()
    {
        Assert.False(MeterContribution.TryFrom(Meter(), "llm.call", J("{'other': 1}"), out _, out var missing));
        Assert.Equal("property 'tokens' is missing", missing);
        var longGroup = new string('x', MeterContribution.KeyTextLengthMax);
        Assert.False(MeterContribution.TryFrom(Meter(groupBy: ["model"]), "llm.call", J($"{{'model': '{longGroup}', 'tokens': 1}}"), out _, out var tooLong));
        Assert.Equal("group_by and unique_count values may be at most 1000 characters", tooLong);
    }
}
