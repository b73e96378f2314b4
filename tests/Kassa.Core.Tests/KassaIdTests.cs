using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Ids;

namespace Kassa.Core.Tests;

public class KassaIdTests
{
    private static readonly byte[] Zeros = new byte[10];

    [Fact]
    public void Formats_prefix_timestamp_and_randomness_in_crockford_base32()
    {
        // The ULID specification's example 01ARZ3NDEKTSV4RRFFQ69G5FAV was made at this millisecond.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_469_922_850_259);
        Assert.Equal("sub_01ARZ3NDEK0000000000000000", KassaId.Format("sub", at, Zeros));
        var ones = Enumerable.Repeat((byte)0xFF, 10).ToArray();
        Assert.Equal("cus_01ARZ3NDEKZZZZZZZZZZZZZZZZ", KassaId.Format("cus", at, ones));
    }

    [Fact]
    public void Epoch_and_the_largest_time_format()
    {
        Assert.Equal("evt_0000000000" + new string('0', 16), KassaId.Format("evt", DateTimeOffset.UnixEpoch, Zeros));
        Assert.Throws<ArgumentOutOfRangeException>(() => KassaId.Format("evt", DateTimeOffset.UnixEpoch.AddMilliseconds(-1), Zeros));
        Assert.Throws<ArgumentException>(() => KassaId.Format("evt", DateTimeOffset.UnixEpoch, new byte[9]));
    }

    [Fact]
    public void Later_ids_sort_after_earlier_ones_and_the_time_reads_back()
    {
        Prop.ForAll<long, long>((a, b) =>
        {
            var t1 = DateTimeOffset.FromUnixTimeMilliseconds(Math.Abs(a % 253_402_300_799_000));
            var t2 = DateTimeOffset.FromUnixTimeMilliseconds(Math.Abs(b % 253_402_300_799_000));
            var id1 = KassaId.Format("x", t1, Enumerable.Repeat((byte)0xFF, 10).ToArray());
            var id2 = KassaId.Format("x", t2, Zeros);
            var ordered = t1 < t2 ? string.CompareOrdinal(id1, id2) < 0 : t1 > t2 ? string.CompareOrdinal(id1, id2) > 0 : true;
            return ordered && KassaId.TimestampOf(id1) == t1 && KassaId.TimestampOf(id2) == t2;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_floor_of_a_time_sorts_above_every_id_made_before_it_and_at_or_below_every_id_made_from_it()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_469_922_850_259);
        var floor = KassaId.Floor("gcb", at);
        Assert.Equal("gcb_01ARZ3NDEK0000000000000000", floor);
        var ones = Enumerable.Repeat((byte)0xFF, 10).ToArray();
        Assert.True(string.CompareOrdinal(KassaId.Format("gcb", at.AddMilliseconds(-1), ones), floor) < 0);
        Assert.Equal(0, string.CompareOrdinal(KassaId.Format("gcb", at, Zeros), floor));
        Assert.True(string.CompareOrdinal(KassaId.Format("gcb", at, ones), floor) > 0);
        Assert.True(string.CompareOrdinal(KassaId.Format("gcb", at.AddMilliseconds(1), Zeros), floor) > 0);
    }

    [Theory]
    [InlineData("cus_short")]
    [InlineData("no-underscore")]
    [InlineData("cus_01ARYZ6S4KUUUUUUUUUUUUUUUU0")]
    [InlineData("cus_0IARYZ6S4K0000000000000000")]
    public void Foreign_ids_have_no_timestamp(string id) => Assert.Null(KassaId.TimestampOf(id));
}
