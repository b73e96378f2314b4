using Kassa.Core.Ledger;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// Moves prepaid credits' revenue from deferred (2100) to usage revenue (4001) as the credits are used
/// (spec §9, "prepaid credits consumed: DR 2100; CR 4001"). A credit pack bought as a one-time product is
/// credited to 2100 when its invoice is finalized, and the bucket it granted remembers what it was sold for.
/// Each pass brings every such bucket's recognised total to <c>sold for × used ÷ granted</c>, rounded half
/// away from zero (all of it once the bucket is used up or voided), posting the difference as one entry
/// named by the new cumulative total — so a rerun, a crash between passes or two nodes post each step once.
/// Runs off the hot path (track and check never post), in the renewal worker's round and a test clock's
/// advance, in chunks of <see cref="ChunkSize"/>, one transaction each.
/// </summary>
public static class RecognizePrepaidRevenue
{
    public const int ChunkSize = 200;
    public const int PassesMax = 1_000;

    /// <summary>Runs passes until no bucket has anything left to recognise now; returns how many entries were posted.</summary>
    public static async Task<int> RunAsync(IKassaStore store, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var posted = 0;
        DeferredBucket? after = null;
        for (var pass = 0; pass < PassesMax; pass++)
        {
            var (last, seen, entries) = await store.WriteAsync(s => ChunkAsync(s, after, now), ct: ct);
            posted += entries;
            if (seen < ChunkSize) break;
            after = last;
        }
        return posted;
    }

    private static async Task<(DeferredBucket? Last, int Seen, int Entries)> ChunkAsync(IStoreSession s, DeferredBucket? after, DateTimeOffset now)
    {
        var buckets = await s.Balances.DeferredAsync(after, ChunkSize);
        var entries = 0;
        foreach (var b in buckets)
        {
            var target = Target(b);
            if (target <= b.RecognizedAmount) continue;
            var op = new OperationContext(new Tenant(b.AccountId, b.Livemode), Actor.System, $"revenue_{b.Id}", now);
            await PostJournalEntry.Execute(s, op, Postings.PrepaidCreditsRecognized(b.Id, b.Currency, target - b.RecognizedAmount, target),
                $"Prepaid credits used ({b.FeatureId})", b.CustomerId);
            await s.Balances.SetRecognizedAsync(b, target);
            entries++;
        }
        return (buckets.Count > 0 ? buckets[^1] : null, buckets.Count, entries);
    }

    /// <summary>What should be recognised by now: the sold-for amount in proportion to the credits used.</summary>
    public static long Target(DeferredBucket b)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (b.Voided || b.Granted <= 0 || b.Used >= b.Granted) return b.DeferredAmount;
        var share = Math.Round((decimal)b.DeferredAmount * b.Used / b.Granted, MidpointRounding.AwayFromZero);
        return Math.Clamp((long)share, 0, b.DeferredAmount);
    }
}
