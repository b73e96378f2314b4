namespace Kassa.Storage;

/// <summary>
/// SQLite's customer orders in the index file (the events', ADR 0006; the credit movements', ADR 0018) take each pass
/// as a run in front of them and move one bucket of customers from every run in at a time, so a customer's entries
/// reach the order once every <see cref="Buckets"/> passes, that many passes' worth at once: a pass writes about one
/// index page per customer of one bucket, not one per customer it touched.
/// </summary>
public static class IndexRuns
{
    /// <summary>
    /// Buckets of customers, one moved a pass; so also the most runs listed at once less one (each run leaves the list
    /// once every bucket was moved from it). More buckets, fewer index pages written per entry and more runs a
    /// customer's read looks up.
    /// </summary>
    public const int Buckets = 16;

    /// <summary>A customer's bucket: a hash of its id that never changes (FNV-1a over the UTF-16 code units; not string.GetHashCode, which differs per process).</summary>
    public static int Bucket(string customerId)
    {
        var hash = 2166136261u;
        foreach (var ch in customerId) hash = (hash ^ ch) * 16777619u;
        return (int)(hash % Buckets);
    }
}
