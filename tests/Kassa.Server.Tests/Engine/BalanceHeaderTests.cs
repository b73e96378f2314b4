using Kassa.Core.Balances;
using Kassa.Engine.Storage;

namespace Kassa.Server.Tests.Engine;

/// <summary>
/// A balance batch writes a header back only when a column it saves changed: most checks and tracks move
/// buckets only, and skipping the header's UPDATE saves a row write per customer. Every saved column must
/// count, or a change (an overage, a reset) would be lost.
/// </summary>
public sealed class BalanceHeaderTests
{
    private static BalanceHeader Stored()
    {
        var h = new BalanceHeader
        {
            AccountId = "acct_1", Livemode = false, CustomerId = "cus_1", FeatureId = "api_calls", OveragePolicy = OveragePolicy.Blocked,
            Reset = "month", Allowance = 1_000_000, Anchor = DateTimeOffset.Parse("2026-12-01T00:00:00Z"),
            PeriodStart = DateTimeOffset.Parse("2026-12-01T00:00:00Z"), NextResetAt = DateTimeOffset.Parse("2027-01-01T00:00:00Z"),
            UpdatedAt = DateTimeOffset.Parse("2026-12-01T00:00:00Z"),
        };
        h.Stored = h.Columns;
        return h;
    }

    [Fact]
    public void A_header_as_stored_is_unchanged_and_a_new_one_is_changed()
    {
        Assert.False(Stored().Changed);
        var fresh = Stored();
        fresh.IsNew = true;
        Assert.True(fresh.Changed);
        var neverStored = Stored();
        neverStored.Stored = null;
        Assert.True(neverStored.Changed);
    }

    [Fact]
    public void The_version_alone_is_no_change_but_every_saved_column_is()
    {
        var h = Stored();
        h.Version++;
        Assert.False(h.Changed);

        var changes = new List<Action<BalanceHeader>>
        {
            x => x.Overage = 1, x => x.OveragePolicy = OveragePolicy.Billed, x => x.Unlimited = true, x => x.Allowance = 2_000_000,
            x => x.Reset = "day", x => x.Anchor = x.Anchor.AddDays(1), x => x.PeriodStart = x.PeriodStart.AddMonths(1),
            x => x.NextResetAt = null, x => x.Rollover = true, x => x.RolloverMax = 5, x => x.SubscriptionId = "sub_1",
            x => x.UpdatedAt = x.UpdatedAt.AddSeconds(1), x => x.OveragePrice = "{}",
        };
        foreach (var change in changes)
        {
            var x = Stored();
            change(x);
            Assert.True(x.Changed);
        }
    }
}
