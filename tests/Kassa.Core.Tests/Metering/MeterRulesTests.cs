using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class MeterRulesTests
{
    private static Dictionary<string, JsonElement> Filter(string json) =>
        J(json).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());

    private static MeterInput Valid(string aggregation = "sum", string? valueProperty = "usage.input_tokens") =>
        new("input_tokens", "Input tokens", "llm.call", aggregation, valueProperty, ["model", "region"],
            Filter("{'env': 'prod', 'cached': false, 'tier': 2}"), "tokens");

    [Fact]
    public void A_valid_input_builds_the_meter()
    {
        Assert.Empty(MeterRules.Validate(Valid(), out var meter));
        Assert.NotNull(meter);
        Assert.Equal("input_tokens", meter.Id);
        Assert.Equal("Input tokens", meter.Name);
        Assert.Equal("llm.call", meter.EventName);
        Assert.Equal(Aggregation.Sum, meter.Aggregation);
        Assert.Equal("usage.input_tokens", meter.ValueProperty);
        Assert.Equal(["model", "region"], meter.GroupBy);
        Assert.Equal(["cached", "env", "tier"], meter.Filter.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("tokens", meter.FeatureId);
        Assert.Empty(MeterRules.Validate(meter));
    }

    [Fact]
    public void Minimal_count_meter_is_valid()
    {
        Assert.Empty(MeterRules.Validate(new MeterInput("api_calls", "API calls", "api.request", "count"), out var meter));
        Assert.Null(meter!.ValueProperty);
        Assert.Empty(meter.GroupBy);
        Assert.Empty(meter.Filter);
        Assert.Null(meter.FeatureId);
    }

    [Fact]
    public void Filter_values_outlive_the_request_document()
    {
        var document = JsonDocument.Parse("""{"model": "gpt-4o"}""");
        var input = new MeterInput("m", "M", "e", "count", Filter: document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value));
        Assert.Empty(MeterRules.Validate(input, out var meter));
        document.Dispose();
        Assert.Equal("gpt-4o", meter!.Filter["model"].GetString());
    }

    [Fact]
    public void Every_problem_is_reported_at_once_in_field_order()
    {
        var input = new MeterInput("Bad Id", "", "", "average", "a..b", ["ok", "not ok", "ok", null],
            Filter("{'x..y': 1, 'model': null}"), "Feature!");
        Assert.NotEmpty(MeterRules.Validate(input, out var meter));
        Assert.Null(meter);
        Assert.Equal(
            [
                new FieldError("id", "may contain only a-z, 0-9, _ and -"),
                new FieldError("name", "must not be empty"),
                new FieldError("event_name", "must not be empty"),
                new FieldError("aggregation", "must be one of count, sum, max, min, unique_count, latest"),
                new FieldError("value_property", "must not have an empty segment (check for a leading, trailing or double dot)"),
                new FieldError("group_by[1]", "segments may contain only letters, digits, _ and -"),
                new FieldError("group_by[2]", "repeats an earlier entry"),
                new FieldError("group_by[3]", "must not be null"),
                new FieldError("filter.model", "must be a string, number or boolean"),
                new FieldError("filter.x..y", "key must not have an empty segment (check for a leading, trailing or double dot)"),
                new FieldError("feature_id", "may contain only a-z, 0-9, _ and -"),
            ],
            MeterRules.Validate(input, out _));
    }

    [Fact]
    public void Required_fields_are_named()
    {
        Assert.Equal(
            [
                new FieldError("id", "is required"),
                new FieldError("name", "is required"),
                new FieldError("event_name", "is required"),
                new FieldError("aggregation", "is required"),
            ],
            MeterRules.Validate(new MeterInput(null, null, null, null), out _));
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("max")]
    [InlineData("min")]
    [InlineData("unique_count")]
    [InlineData("latest")]
    public void Value_property_is_required_unless_counting(string aggregation)
    {
        Assert.Equal([new FieldError("value_property", $"is required for the {aggregation} aggregation")], MeterRules.Validate(Valid(aggregation, null), out _));
        Assert.Empty(MeterRules.Validate(Valid(aggregation, "tokens"), out _));
    }

    [Fact]
    public void Value_property_is_forbidden_when_counting()
    {
        Assert.Equal(
            [new FieldError("value_property", "must not be set for the count aggregation, which counts events")],
            MeterRules.Validate(Valid("count", "tokens"), out _));
        Assert.Empty(MeterRules.Validate(Valid("count", null), out _));
    }

    [Fact]
    public void Names_and_event_names_are_bounded_text()
    {
        var name200 = new string('n', 200);
        Assert.Empty(MeterRules.Validate(Valid() with { Name = name200, EventName = name200 }, out _));
        Assert.Equal(
            [new FieldError("name", "must be at most 200 characters"), new FieldError("event_name", "must be at most 200 characters")],
            MeterRules.Validate(Valid() with { Name = name200 + "n", EventName = name200 + "e" }, out _));
        Assert.Equal(
            [new FieldError("name", "must not contain control characters"), new FieldError("event_name", "must be valid Unicode text without NUL characters")],
            MeterRules.Validate(Valid() with { Name = "a\tb", EventName = "a\0b" }, out _));
        Assert.Equal([new FieldError("id", "must be at most 64 characters")], MeterRules.Validate(Valid() with { Id = new string('a', 65) }, out _));
    }

    [Fact]
    public void Group_by_has_at_most_8_entries()
    {
        string[] eight = ["a", "b", "c", "d", "e", "f", "g", "h"];
        Assert.Empty(MeterRules.Validate(Valid() with { GroupBy = eight }, out _));
        Assert.Equal(
            [new FieldError("group_by", "may have at most 8 entries")],
            MeterRules.Validate(Valid() with { GroupBy = [.. eight, "i"] }, out _));
    }

    [Fact]
    public void Filter_has_at_most_16_scalar_entries()
    {
        var sixteen = Enumerable.Range(0, 16).ToDictionary(i => $"k{i}", i => J(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Empty(MeterRules.Validate(Valid() with { Filter = sixteen }, out _));
        Assert.Equal(
            [new FieldError("filter", "may have at most 16 entries")],
            MeterRules.Validate(Valid() with { Filter = new Dictionary<string, JsonElement>(sixteen) { ["k16"] = J("1") } }, out _));
        Assert.Equal(
            [
                new FieldError("filter.arr", "must be a string, number or boolean"),
                new FieldError("filter.long", "must be at most 500 characters"),
                new FieldError("filter.nul", "must be valid Unicode text without NUL characters"),
                new FieldError("filter.obj", "must be a string, number or boolean"),
                new FieldError("filter.undefined", "must be a string, number or boolean"),
            ],
            MeterRules.Validate(Valid() with
            {
                Filter = new Dictionary<string, JsonElement>
                {
                    ["ok"] = J("'" + new string('x', 500) + "'"),
                    ["long"] = J("'" + new string('x', 501) + "'"),
                    ["nul"] = J("'a\\u0000b'"),
                    ["obj"] = J("{}"),
                    ["arr"] = J("[]"),
                    ["undefined"] = default,
                    ["usage.model"] = J("true"),
                },
            }, out _));
    }

    [Fact]
    public void A_typed_meter_is_checked_the_same_way()
    {
        Assert.Empty(MeterRules.Validate(Meter()));
        Assert.Equal(
            [new FieldError("aggregation", "must be one of count, sum, max, min, unique_count, latest")],
            MeterRules.Validate(Meter() with { Aggregation = (Aggregation)99 }));
        Assert.Equal(
            [new FieldError("value_property", "is required for the max aggregation"), new FieldError("feature_id", "must not be empty")],
            MeterRules.Validate(Meter(Aggregation.Max) with { ValueProperty = null, FeatureId = "" }));
        // A deserialiser may leave collections null despite the annotations.
        Assert.Empty(MeterRules.Validate(Meter() with { GroupBy = null!, Filter = null! }));
    }
}
