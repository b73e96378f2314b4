using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Paging;

namespace Kassa.Core.Tests;

public class CursorTests
{
    [Fact]
    public void Encoding_round_trips_for_any_time_and_storable_id()
    {
        Prop.ForAll<long, NonEmptyString>((micros, id) =>
        {
            var text = id.Get;
            if (!Kassa.Core.Validation.Rules.IsStorable(text) || text.Any(char.IsControl)) return true;
            var cursor = new Cursor(Math.Abs(micros % long.MaxValue), text);
            return Cursor.TryDecode(cursor.Encode(), out var back) && back == cursor;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Encoded_cursors_are_url_safe()
    {
        var encoded = new Cursor(1_763_700_000_000_000, "user_123/+?&=").Encode();
        Assert.Matches("^[A-Za-z0-9_-]+$", encoded);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("!!!")]
    [InlineData("bm8tYmFy")]        // "no-bar": no separator
    [InlineData("MTIzfA")]          // "123|": no id
    [InlineData("fGFiYw")]          // "|abc": no time
    [InlineData("LTF8YQ")]          // "-1|a": negative time
    [InlineData("MXwA")]            // "1|\0": a NUL in the id
    [InlineData("MXzt oIA")]        // not base64url
    public void Garbage_is_refused(string? text) => Assert.False(Cursor.TryDecode(text, out _));

    [Fact]
    public void Overlong_cursors_are_refused() => Assert.False(Cursor.TryDecode(new string('A', 401), out _));
}
