namespace Kassa.Engine.Common;

/// <summary>
/// Which of a group-commit's writer loops a request belongs to (the balance engine's and the mutation
/// batcher's): every request on one customer (or object) of one account goes to one loop, so two loops'
/// batches do not wait on each other's row locks for it.
/// </summary>
public static class Shards
{
    /// <summary>The loop, from 0 to <paramref name="loops"/> − 1, of <paramref name="key"/> in <paramref name="accountId"/>.</summary>
    public static int Of(int loops, string accountId, string key)
    {
        if (loops == 1) return 0;
        // FNV-1a: a fixed spread, the same in every run (string.GetHashCode is randomised per process, which
        // would make a benchmark's or a test's batches differ from one run to the next).
        uint h = 2166136261;
        foreach (var c in accountId) h = (h ^ c) * 16777619;
        foreach (var c in key) h = (h ^ c) * 16777619;
        return (int)(h % (uint)loops);
    }
}
