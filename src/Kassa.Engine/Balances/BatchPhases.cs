using System.Diagnostics;

namespace Kassa.Engine.Balances;

/// <summary>
/// Where batch time goes, process-wide: loading balances, deciding in memory, writing rows. The rest of
/// a batch's time (<see cref="BalanceEngine.BatchTicks"/> minus these) is the transaction's begin and
/// commit. Exposed on /metrics so a slow hot path can be profiled on a running server.
/// </summary>
public static class BatchPhases
{
    private static long _load;
    private static long _decide;
    private static long _persist;

    public static long LoadTicks => Interlocked.Read(ref _load);
    public static long DecideTicks => Interlocked.Read(ref _decide);
    public static long PersistTicks => Interlocked.Read(ref _persist);

    internal static void AddLoad(long since) => Interlocked.Add(ref _load, Stopwatch.GetTimestamp() - since);
    internal static void AddDecide(long since) => Interlocked.Add(ref _decide, Stopwatch.GetTimestamp() - since);
    internal static void AddPersist(long since) => Interlocked.Add(ref _persist, Stopwatch.GetTimestamp() - since);
}
