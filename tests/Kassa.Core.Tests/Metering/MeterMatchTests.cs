using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class MeterMatchTests
{
    [Fact]
    public void Event_name_is_compared_ordinally()
    {
        var meter = Meter(eventName: "llm.call");
        Assert.True(MeterMatch.Matches(meter, "llm.call", J("{}")));
        Assert.False(MeterMatch.Matches(meter, "LLM.call", J("{}")));
        Assert.False(MeterMatch.Matches(meter, "llm.call ", J("{}")));
        Assert.False(MeterMatch.Matches(meter, "llm.cal", J("{}")));
    }

    [Theory]
    [InlineData("{'model': 'gpt-4o'}", "{'model': 'gpt-4o', 'other': 1}", true)]
    [InlineData("{'model': 'gpt-4o'}", "{'model': 'GPT-4o'}", false)]
    [InlineData("{'model': 'gpt-4o'}", "{'model': 'gpt-4o '}", false)]
    [InlineData("{'model': 'gpt-4o'}", "{}", false)]
    [InlineData("{'model': 'gpt-4o'}", "{'model': null}", false)]
    [InlineData("{'model': 'é'}", "{'model': '\\u00e9'}", true)] // escapes are compared unescaped
    [InlineData("{'cached': true}", "{'cached': true}", true)]
    [InlineData("{'cached': true}", "{'cached': false}", false)]
    [InlineData("{'cached': true}", "{'cached': 'true'}", false)]
    [InlineData("{'cached': false}", "{'cached': 0}", false)]
    [InlineData("{'tier': 1}", "{'tier': 1}", true)]
    [InlineData("{'tier': 1}", "{'tier': 1.0}", true)]
    [InlineData("{'tier': 1}", "{'tier': 1e0}", true)]
    [InlineData("{'tier': 1.50}", "{'tier': 15e-1}", true)]
    [InlineData("{'tier': 0}", "{'tier': -0.0}", true)]
    [InlineData("{'tier': 1}", "{'tier': 1.000000000000000000000000000001}", false)] // exact, not rounded to decimal
    [InlineData("{'tier': 1}", "{'tier': 2}", false)]
    [InlineData("{'tier': 1}", "{'tier': -1}", false)]
    [InlineData("{'tier': 1}", "{'tier': '1'}", false)] // types must match
    [InlineData("{'tier': '1'}", "{'tier': 1}", false)]
    [InlineData("{'usage.tier': 'hi'}", "{'usage': {'tier': 'hi'}}", true)]
    [InlineData("{'usage.tier': 'hi'}", "{'usage': 'hi'}", false)]
    [InlineData("{'a': 1, 'b': 'x'}", "{'a': 1, 'b': 'x'}", true)]
    [InlineData("{'a': 1, 'b': 'x'}", "{'a': 1, 'b': 'y'}", false)]
    public void Every_filter_entry_must_equal_the_property(string filter, string properties, bool expected) =>
        Assert.Equal(expected, MeterMatch.Matches(Meter(filter: filter), "llm.call", J(properties)));

    [Theory]
    [InlineData(new string[0], "{'model': 'gpt-4o'}", "")]
    [InlineData(new[] { "model" }, "{'model': 'gpt-4o'}", "{\"model\":\"gpt-4o\"}")]
    [InlineData(new[] { "model", "region" }, "{'region': 'eu', 'model': 'gpt-4o'}", "{\"model\":\"gpt-4o\",\"region\":\"eu\"}")]
    [InlineData(new[] { "region", "model" }, "{'region': 'eu', 'model': 'gpt-4o'}", "{\"region\":\"eu\",\"model\":\"gpt-4o\"}")]
    [InlineData(new[] { "model", "region" }, "{'model': 'gpt-4o'}", "{\"model\":\"gpt-4o\",\"region\":null}")]
    [InlineData(new[] { "n" }, "{'n': 1}", "{\"n\":\"1\"}")]
    [InlineData(new[] { "n" }, "{'n': 1.0}", "{\"n\":\"1\"}")]
    [InlineData(new[] { "n" }, "{'n': 1e3}", "{\"n\":\"1000\"}")]
    [InlineData(new[] { "n" }, "{'n': -0.50}", "{\"n\":\"-0.5\"}")]
    [InlineData(new[] { "n" }, "{'n': -0}", "{\"n\":\"0\"}")]
    [InlineData(new[] { "n" }, "{'n': 12e-8}", "{\"n\":\"0.00000012\"}")]
    [InlineData(new[] { "n" }, "{'n': 1.5e100}", "{\"n\":\"1.5e100\"}")]
    [InlineData(new[] { "n" }, "{'n': '1.0'}", "{\"n\":\"1.0\"}")] // strings are kept as they are
    [InlineData(new[] { "b" }, "{'b': true}", "{\"b\":\"true\"}")]
    [InlineData(new[] { "b" }, "{'b': false}", "{\"b\":\"false\"}")]
    [InlineData(new[] { "o", "a", "z" }, "{'o': {'x': 1}, 'a': [1], 'z': null}", "{\"o\":null,\"a\":null,\"z\":null}")]
    [InlineData(new[] { "usage.tier" }, "{'usage': {'tier': 'pro'}}", "{\"usage.tier\":\"pro\"}")]
    [InlineData(new[] { "m" }, "{'m': 'café \\\"quoted\\\" \\u0001'}", "{\"m\":\"café \\\"quoted\\\" \\u0001\"}")]
    public void Group_keys_are_canonical(string[] groupBy, string properties, string expected) =>
        Assert.Equal(expected, MeterMatch.GroupKey(Meter(groupBy: groupBy), J(properties)));

    [Fact]
    public void Equal_values_written_differently_give_one_group()
    {
        var meter = Meter(groupBy: ["tier"]);
        var keys = new[] { "{'tier': 2}", "{'tier': 2.0}", "{'tier': 2e0}", "{'tier': 20e-1}" }
            .Select(p => MeterMatch.GroupKey(meter, J(p))).Distinct().ToList();
        Assert.Equal(["{\"tier\":\"2\"}"], keys);
    }

    [Fact]
    public void Group_keys_parse_back_in_order()
    {
        var meter = Meter(groupBy: ["region", "model", "tier"]);
        var key = MeterMatch.GroupKey(meter, J("{'model': 'gpt-4o', 'tier': 3.0}"));
        var group = MeterMatch.ParseGroupKey(key);
        Assert.Equal([new("region", null), new("model", "gpt-4o"), new KeyValuePair<string, string?>("tier", "3")], group.ToList());
        Assert.Empty(MeterMatch.ParseGroupKey(""));
    }

    [Theory]
    [InlineData("{'model': 'gpt-4o', 'region': 'eu', 'tier': 2.0}")]
    [InlineData("{'model': 'a \\\"b\\\" é', 'tier': true}")]
    [InlineData("{}")]
    public void Projecting_a_key_equals_grouping_by_fewer_paths(string properties)
    {
        var p = J(properties);
        var full = MeterMatch.GroupKey(Meter(groupBy: ["model", "region", "tier"]), p);
        foreach (var subset in new[] { new[] { "model" }, ["tier", "model"], ["region"], ["model", "region", "tier"] })
            Assert.Equal(MeterMatch.GroupKey(Meter(groupBy: subset), p), MeterMatch.ProjectGroupKey(full, subset));
        Assert.Equal("", MeterMatch.ProjectGroupKey(full, []));
        Assert.Equal("{\"other\":null}", MeterMatch.ProjectGroupKey(full, ["other"]));
        Assert.Equal("", MeterMatch.ProjectGroupKey("", []));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"a\":1}")]
    [InlineData("{\"a\":{}}")]
    [InlineData("{\"a\":")]
    [InlineData("model")]
    public void Malformed_group_keys_throw(string key) =>
        Assert.Throws<FormatException>(() => MeterMatch.ParseGroupKey(key));
}
