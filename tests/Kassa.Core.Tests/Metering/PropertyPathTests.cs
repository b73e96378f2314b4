using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class PropertyPathTests
{
    [Theory]
    [InlineData("tokens")]
    [InlineData("usage.input_tokens")]
    [InlineData("A-b_9")]
    [InlineData("a.b.c.d.e.f.g.h")]
    public void Valid_paths(string path) => Assert.Null(PropertyPath.Validate(path));

    [Fact]
    public void Length_limits_are_inclusive()
    {
        var segment64 = new string('s', 64);
        Assert.Null(PropertyPath.Validate(segment64));
        // 64 + 1 + 64 + 1 + 64 + 1 + 5 = 200 characters.
        var path200 = $"{segment64}.{segment64}.{segment64}.abcde";
        Assert.Equal(200, path200.Length);
        Assert.Null(PropertyPath.Validate(path200));
        Assert.Equal("must be at most 200 characters", PropertyPath.Validate(path200 + "f"));
        Assert.Equal("segments must be at most 64 characters", PropertyPath.Validate(segment64 + "s"));
    }

    [Theory]
    [InlineData(null, "must not be empty")]
    [InlineData("", "must not be empty")]
    [InlineData(".a", "must not have an empty segment (check for a leading, trailing or double dot)")]
    [InlineData("a.", "must not have an empty segment (check for a leading, trailing or double dot)")]
    [InlineData("a..b", "must not have an empty segment (check for a leading, trailing or double dot)")]
    [InlineData(".", "must not have an empty segment (check for a leading, trailing or double dot)")]
    [InlineData("a.b.c.d.e.f.g.h.i", "may have at most 8 dot-separated segments")]
    [InlineData("a b", "segments may contain only letters, digits, _ and -")]
    [InlineData("modèle", "segments may contain only letters, digits, _ and -")]
    [InlineData("items[0]", "segments may contain only letters, digits, _ and -")]
    [InlineData("a/b", "segments may contain only letters, digits, _ and -")]
    public void Invalid_paths_say_why(string? path, string expected) => Assert.Equal(expected, PropertyPath.Validate(path));

    [Fact]
    public void Resolves_top_level_and_nested_members()
    {
        var p = J("{'tokens': 5, 'usage': {'input_tokens': 7, 'deep': {'x': 'y'}}}");
        Assert.True(PropertyPath.TryResolve(p, "tokens", out var tokens));
        Assert.Equal(5, tokens.GetInt32());
        Assert.True(PropertyPath.TryResolve(p, "usage.input_tokens", out var input));
        Assert.Equal(7, input.GetInt32());
        Assert.True(PropertyPath.TryResolve(p, "usage.deep.x", out var x));
        Assert.Equal("y", x.GetString());
        Assert.True(PropertyPath.TryResolve(p, "usage", out var usage));
        Assert.Equal(System.Text.Json.JsonValueKind.Object, usage.ValueKind);
    }

    [Fact]
    public void Missing_members_and_non_objects_on_the_way_are_not_found()
    {
        var p = J("{'tokens': 5, 'name': 'x', 'items': [{'a': 1}], 'nothing': null}");
        Assert.False(PropertyPath.TryResolve(p, "missing", out _));
        Assert.False(PropertyPath.TryResolve(p, "tokens.value", out _));
        Assert.False(PropertyPath.TryResolve(p, "name.length", out _));
        Assert.False(PropertyPath.TryResolve(p, "items.0", out _));
        Assert.False(PropertyPath.TryResolve(p, "nothing.x", out _));
        Assert.False(PropertyPath.TryResolve(J("[1]"), "a", out _));
        Assert.False(PropertyPath.TryResolve(default, "a", out _));
        // Case matters: JSON member names are case-sensitive.
        Assert.False(PropertyPath.TryResolve(p, "Tokens", out _));
    }

    [Fact]
    public void A_null_at_the_end_is_found_as_null()
    {
        Assert.True(PropertyPath.TryResolve(J("{'a': {'b': null}}"), "a.b", out var value));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, value.ValueKind);
    }
}
