using Kassa.Core.Balances;
using Kassa.Core.Ids;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>Writes one changed balance outside the engine (grants, voids): header, buckets and its movements.</summary>
internal static class BalanceWrites
{
    /// <summary>
    /// The balance's movements since the last drain as credit transactions (each with the balance
    /// remaining after them), then forgets them: the one way movements reach the log.
    /// </summary>
    public static List<CreditTransactionRecord> Drain(LiveBalance live, DateTimeOffset now, string sourceType, string? sourceId, MovementType? type = null)
    {
        var after = live.Header.Unlimited ? 0 : live.Balance.Remaining(now);
        var transactions = live.Balance.Movements.Select(m => new CreditTransactionRecord(live.Header.AccountId, live.Header.Livemode,
            Ids.New(IdPrefixes.CreditTransaction, now), live.Header.CustomerId, live.Header.FeatureId, live.Header.EntityId,
            type ?? m.Type, m.Amount, m.BucketId, after, sourceType, sourceId, now)).ToList();
        live.Balance.ClearMovements();
        return transactions;
    }

    /// <param name="type">Log every movement under this type instead of its own (admin adjustments are all "adjust").</param>
    /// <param name="extra">Transactions the caller built itself (changes the balance core does not record).</param>
    /// <param name="deferred">Nothing later in the transaction reads these rows: see <see cref="IBalanceStore.WriteTogetherAsync"/>.</param>
    public static async Task SaveAsync(IStoreSession s, LiveBalance live, DateTimeOffset now, string sourceType, string sourceId,
        MovementType? type = null, IReadOnlyList<CreditTransactionRecord>? extra = null, bool deferred = false)
    {
        var transactions = Drain(live, now, sourceType, sourceId, type);
        if (extra is not null) transactions.AddRange(extra);
        live.Header.Overage = live.Balance.Overage;
        // The header is written only when one of its columns moved, as the balance engine's batches do: a grant that
        // only adds a bucket left it as it was, and rewriting it anyway put a random page of feature_balances in the
        // WAL for each grant (20 of the 95 frames a SQLite grant batch wrote; bench/README, twenty-third session).
        var header = live.Header.Changed;
        if (header)
        {
            live.Header.UpdatedAt = now;
            live.Header.Version++;
        }
        var changed = live.Stored.Where(b => b.IsNew || b.Changed).ToList();
        // Header, buckets and log in one round trip on PostgreSQL (up to five statements: a grant's were five trips).
        await s.Balances.WriteTogetherAsync(async () =>
        {
            if (header) await s.Balances.SaveHeadersAsync([live.Header]);
            if (changed.Count > 0) await s.Balances.SaveBucketsAsync(changed);
            if (transactions.Count > 0) await s.Balances.InsertTransactionsAsync(transactions);
        }, deferred);
    }
}
