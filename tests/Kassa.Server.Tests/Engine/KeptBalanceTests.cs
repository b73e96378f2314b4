using Kassa.Core.Balances;
using Kassa.Engine.Balances;
using Kassa.Engine.Storage;

namespace Kassa.Server.Tests.Engine;

/// <summary>
/// The balance writer's memory keeps buckets as rows and makes new bucket objects for each batch (ADR 0021): every
/// number, instant, flag, name and metadata must come back exactly, the rows must follow the balance as it grows and
/// shrinks, and a balance taken from memory must look to the writer as freshly loaded (nothing to write back).
/// </summary>
public sealed class KeptBalanceTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-06T10:00:00+00:00");

    private static BalanceHeader Header()
    {
        var h = new BalanceHeader
        {
            AccountId = "acct_1", Livemode = true, CustomerId = "cus_1", FeatureId = "api_calls", EntityId = "seat_1", OveragePolicy = OveragePolicy.Blocked,
            Reset = "never", Anchor = Now, PeriodStart = Now, UpdatedAt = Now, Overage = 0,
        };
        h.Stored = h.Columns;
        return h;
    }

    private static StoredBucket Stored(BalanceHeader h, Bucket b, string? name = null, string? metadata = null)
    {
        var s = new StoredBucket
        {
            AccountId = h.AccountId, Livemode = h.Livemode, CustomerId = h.CustomerId, FeatureId = h.FeatureId, EntityId = h.EntityId,
            Bucket = b, Name = name, Metadata = metadata,
        };
        s.MarkStored();
        return s;
    }

    private static LiveBalance Live(BalanceHeader h, params StoredBucket[] buckets) =>
        new(h, new FeatureBalance(buckets.Select(b => b.Bucket), h.Overage), buckets.ToList());

    private static string Describe(LiveBalance live) => string.Join("\n", live.Balance.Buckets.Select(b =>
    {
        var s = live.Buckets[b.Id];
        return $"{b} created={b.CreatedAt.UtcDateTime:O} name={s.Name ?? "-"} metadata={s.Metadata ?? "-"} keys={s.AccountId}/{s.Livemode}/{s.CustomerId}/{s.FeatureId}/{s.EntityId}";
    }));

    [Fact]
    public void Every_field_of_every_bucket_comes_back_and_the_balance_is_as_loaded()
    {
        var h = Header();
        var allowance = new Bucket("bkt_01", BucketKind.Allowance, 0, GrantCategory.Promotional, 5_000_000, 1_250_000, 0, Now.AddDays(-1), Now.AddDays(29), Now.AddDays(-1));
        var grant = new Bucket("cgr_02", BucketKind.Grant, 7, GrantCategory.Paid, 9_000_000, 0, 0, Now.AddHours(1), null, Now.ToOffset(TimeSpan.FromHours(2)));
        var expired = new Bucket("cgr_03", BucketKind.Rollover, 3, GrantCategory.Promotional, 2_000_000, 500_000, 0, Now.AddDays(-40), Now.AddDays(-10), Now.AddDays(-40))
        {
            ExpiryRecorded = true,
        };
        var live = Live(h, Stored(h, allowance), Stored(h, grant, "Launch credits", """{"campaign":"dec"}"""), Stored(h, expired));

        var back = KeptBalance.From(live).ToLive();

        Assert.Same(h, back.Header);
        Assert.Equal(Describe(live), Describe(back));
        Assert.Equal(["bkt_01", "cgr_02", "cgr_03"], back.Balance.Buckets.Select(b => b.Id));
        // The same instant, in UTC as a load from the store gives it (the rows keep UTC ticks, not the offset a request used).
        Assert.Equal(grant.CreatedAt, back.Balance.Find("cgr_02")!.CreatedAt);
        Assert.Equal(TimeSpan.Zero, back.Balance.Find("cgr_02")!.CreatedAt.Offset);
        Assert.All(back.Buckets.Values, b => Assert.False(b.IsNew || b.Changed || b.StatusChanged));
        Assert.Empty(back.Balance.Movements);
        // The new objects are the batch's own: changing them leaves the memory as it was until it is written back.
        back.Balance.Find("bkt_01")!.Used = 2_000_000;
        Assert.True(back.Buckets["bkt_01"].Changed);
        Assert.Equal(1_250_000, KeptBalance.From(live).ToLive().Balance.Find("bkt_01")!.Used);
    }

    [Fact]
    public void Rows_follow_the_balance_as_it_gains_buckets_and_loses_them()
    {
        var h = Header();
        var first = Stored(h, new Bucket("cgr_01", BucketKind.Grant, 10, GrantCategory.Paid, 1_000_000, 0, 0, Now, null, Now), "named");
        var kept = KeptBalance.From(Live(h, first));
        Assert.Equal(1, kept.Count);

        // Grown past its rows (doubling), each new bucket at the end, the earlier ones with their latest numbers.
        var buckets = new List<StoredBucket> { first };
        for (var i = 2; i <= 9; i++)
        {
            buckets.Add(Stored(h, new Bucket($"cgr_{i:00}", BucketKind.Grant, 10, GrantCategory.Paid, i * 1_000_000L, i, 0, Now, null, Now)));
            first.Bucket.Used = i;
            kept.Write(Live(h, [.. buckets]));
            Assert.Equal(i, kept.Count);
        }
        var grown = kept.ToLive();
        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"cgr_{i:00}"), grown.Balance.Buckets.Select(b => b.Id));
        Assert.Equal(9, grown.Balance.Find("cgr_01")!.Used);
        Assert.Equal(9_000_000, grown.Balance.Find("cgr_09")!.Granted);
        Assert.Equal("named", grown.Buckets["cgr_01"].Name);
        Assert.All(grown.Buckets.Values.Skip(1), b => Assert.Null(b.Name));

        // Fewer buckets (a batch that loaded fewer): only those come back.
        kept.Write(Live(h, buckets[4], buckets[0]));
        var shrunk = kept.ToLive();
        Assert.Equal(["cgr_05", "cgr_01"], shrunk.Balance.Buckets.Select(b => b.Id));
        Assert.Null(shrunk.Buckets["cgr_05"].Name);
        Assert.Equal("named", shrunk.Buckets["cgr_01"].Name);
    }

    [Fact]
    public void A_balance_with_another_header_is_refused_and_the_load_match_follows_the_store_rule()
    {
        var h = Header();
        var kept = KeptBalance.From(Live(h, Stored(h, new Bucket("cgr_01", BucketKind.Grant, 10, GrantCategory.Paid, 1_000_000, 0, 0, Now, Now.AddHours(1), Now))));
        Assert.Throws<InvalidOperationException>(() => kept.Write(Live(Header())));

        Assert.True(kept.LoadWouldMatch(Now));
        // Expired but not yet recorded: the store still loads it (to record the expiry).
        Assert.True(kept.LoadWouldMatch(Now.AddHours(1)));
        var recorded = new Bucket("cgr_01", BucketKind.Grant, 10, GrantCategory.Paid, 1_000_000, 0, 0, Now, Now.AddHours(1), Now) { ExpiryRecorded = true };
        kept.Write(Live(h, Stored(h, recorded)));
        Assert.True(kept.LoadWouldMatch(Now));
        Assert.False(kept.LoadWouldMatch(Now.AddHours(1)));
        var voided = new Bucket("cgr_01", BucketKind.Grant, 10, GrantCategory.Paid, 1_000_000, 0, 0, Now, null, Now, voided: true);
        kept.Write(Live(h, Stored(h, voided)));
        Assert.False(kept.LoadWouldMatch(Now));
    }
}
