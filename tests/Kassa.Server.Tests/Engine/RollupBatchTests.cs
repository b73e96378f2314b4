using Kassa.Core.Metering;
using Kassa.Engine.Metering;

namespace Kassa.Server.Tests.Engine;

/// <summary>
/// A roll writes its cells and distinct values in key order (ordinal text, then hour), so two writers of shared cells
/// (a roll and a rebuild on PostgreSQL) take their row locks in one order.
/// </summary>
public sealed class RollupBatchTests
{
    private static readonly DateTimeOffset Ten = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Cells_and_distinct_values_come_out_in_key_order_with_their_totals()
    {
        var batch = new RollupBatch();
        // Added out of order; "B" sorts before "a" ordinally, and 10:59 folds into the 10:00 cell.
        batch.Add("m2", "a", Ten, new MeterContribution(5, "", null));
        batch.Add("m1", "b", Ten.AddHours(1), new MeterContribution(7, "{\"k\":\"y\"}", null));
        batch.Add("m1", "b", Ten.AddHours(1), new MeterContribution(1, "{\"k\":\"x\"}", null));
        batch.Add("m1", "b", Ten, new MeterContribution(2, "", null));
        batch.Add("m1", "B", Ten.AddMinutes(59), new MeterContribution(3, "", null));
        batch.Add("m1", "B", Ten, new MeterContribution(4, "", null));
        Assert.Equal(
            new[] { ("m1", "B", Ten, "", 7L), ("m1", "b", Ten, "", 2L), ("m1", "b", Ten.AddHours(1), "{\"k\":\"x\"}", 1L), ("m1", "b", Ten.AddHours(1), "{\"k\":\"y\"}", 7L), ("m2", "a", Ten, "", 5L) },
            batch.Rows().Select(r => (r.MeterId, r.CustomerId, r.Hour, r.GroupKey, r.Cell.Sum)).ToArray());

        var distinct = new RollupBatch();
        distinct.Add("u", "c", Ten, new MeterContribution(1, "", "zed"));
        distinct.Add("u", "c", Ten, new MeterContribution(1, "", "Ann"));
        distinct.Add("u", "c", Ten, new MeterContribution(1, "", "zed"));
        distinct.Add("u", "B", Ten.AddHours(2), new MeterContribution(1, "", "x"));
        Assert.Equal(new[] { ("B", Ten.AddHours(2), "x"), ("c", Ten, "Ann"), ("c", Ten, "zed") },
            distinct.DistinctRows().Select(r => (r.CustomerId, r.Hour, r.Value)).ToArray());
        Assert.Empty(distinct.Rows());
    }
}
