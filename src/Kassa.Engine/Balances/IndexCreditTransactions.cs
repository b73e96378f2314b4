using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// SQLite's credit indexer (ADR 0018): copies the committed movements' keys into the customer order of the index
/// file, behind a watermark of its own, so the balance writer inserts a movement's row only (the customer index
/// was one random page of the main file per check, track and grant). A customer's list stays exact whatever it has
/// done: the movements at or above its watermark are read by position. PostgreSQL keeps the index in the table.
/// </summary>
public static class IndexCreditTransactions
{
    /// <summary>
    /// Movements one pass takes at most: larger passes write fewer index pages a movement (one page per customer
    /// touched), and an indexer that keeps up settles at what arrives between two ticks.
    /// </summary>
    public const int PassMovementsMax = 50_000;

    /// <summary>
    /// Between two rounds of passes. A pass writes about one index page per customer of the bucket it moves, whatever
    /// its size, so the page writes per movement fall as the passes grow: at 250 ms (the event indexer's tick) the
    /// indexer wrote ~23 MB a second under 15,000 uniform checks a second. A customer's list reads the movements of
    /// the lag by position (~0.15 µs each), so a second of it costs a list a few milliseconds at the most.
    /// </summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// One pass: the movements read in a read session, then written in the index file's transaction; true when another
    /// should follow at once (the pass was full, or another pass moved the watermark since the read).
    /// </summary>
    public static async Task<bool> IndexOnceAsync(IKassaStore store, TimeProvider time, CancellationToken ct = default)
    {
        if (store.Engine != "sqlite") return false;
        var read = await store.ReadAsync(s => s.Balances.ReadCreditTransactionsToIndexAsync(PassMovementsMax), ct);
        if (read.Keys.Count == 0) return false;
        var indexed = await store.WriteEventIndexAsync(s => s.Balances.IndexCreditTransactionsAsync(read, time.GetUtcNow()), ct);
        return indexed == 0 || indexed >= PassMovementsMax;
    }
}
