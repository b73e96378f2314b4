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

    /// <summary>
    /// A pass's move and the run list's upkeep, the same for every order kept this way: the pass's run listed, the
    /// <c>@moving</c> bucket's entries of every listed run (this one's too) inserted into <paramref name="order"/> in its
    /// key order, then deleted from the runs; a run written <see cref="Buckets"/> - 1 passes ago has had every bucket
    /// moved since, so it leaves the list, which the reads rely on holding that many runs at most. Parameters:
    /// <c>@watermark</c> (the run), <c>@pass</c>, <c>@moving</c>. The caller moves its watermark in the same transaction.
    /// </summary>
    /// <param name="key">The order's key columns, in its key order.</param>
    /// <param name="columns">Every column the order holds (the key's first).</param>
    /// <param name="skipExisting">Keeps what the order holds already (ON CONFLICT DO NOTHING) instead of refusing it.</param>
    public static string MoveSql(string order, string runs, string runList, string[] key, string[] columns, bool skipExisting) => $"""
        INSERT INTO {runList} (run, pass) VALUES (@watermark, @pass);
        INSERT INTO {order} ({string.Join(", ", columns)})
          SELECT {string.Join(", ", columns.Select(c => "i." + c))}
          FROM {runList} l CROSS JOIN {runs} i WHERE i.run = l.run AND i.bucket = @moving
          ORDER BY {string.Join(", ", key.Select(c => "i." + c))}{(skipExisting ? "\n  ON CONFLICT DO NOTHING" : "")};
        DELETE FROM {runs} WHERE run IN (SELECT run FROM {runList}) AND bucket = @moving;
        DELETE FROM {runList} WHERE pass <= @pass - {Buckets - 1};
        """;

    /// <summary>
    /// A customer's part of each listed run, newest first, for a list's UNION ALL: <paramref name="part"/> gets the SQL
    /// that names the k-th listed run (at most <see cref="Buckets"/> - 1 are listed; past the last it is NULL and the part empty).
    /// </summary>
    public static string EachListedRun(string runList, Func<string, string> part) =>
        string.Concat(Enumerable.Range(0, Buckets - 1).Select(k => part($"(SELECT run FROM {runList} ORDER BY run LIMIT 1 OFFSET {k})")));

    /// <summary>A customer's bucket: a hash of its id that never changes (FNV-1a over the UTF-16 code units; not string.GetHashCode, which differs per process).</summary>
    public static int Bucket(string customerId)
    {
        var hash = 2166136261u;
        foreach (var ch in customerId) hash = (hash ^ ch) * 16777619u;
        return (int)(hash % Buckets);
    }
}
