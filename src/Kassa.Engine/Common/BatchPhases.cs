using System.Diagnostics;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Common;

/// <summary>
/// Where a group-committed batch's time goes: loading, deciding in memory, writing rows, each summed over the
/// batch's tenant groups and recorded once per batch into <c>kassa.group_commit.phase.duration</c>, so a slow hot
/// path can be profiled on a running server. The rest of a batch's time (<c>kassa.group_commit.batch.duration</c>
/// minus these) is the transaction's begin and commit (the commit phase is recorded by <see cref="GroupCommit{T}"/>).
/// Used by the balance engine and meter ingest.
/// </summary>
internal sealed class BatchPhases(GroupCommitLoop loop)
{
    private long _load;
    private long _decide;
    private long _persist;

    /// <summary>Adds the time since <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp) to the load phase; returns now.</summary>
    public long AddLoad(long since) => Add(ref _load, since);

    public long AddDecide(long since) => Add(ref _decide, since);

    public long AddPersist(long since) => Add(ref _persist, since);

    /// <summary>Records the batch's three totals.</summary>
    public void Record()
    {
        KassaMeters.RecordPhase(loop, KassaMeters.Phase.Load, _load);
        KassaMeters.RecordPhase(loop, KassaMeters.Phase.Decide, _decide);
        KassaMeters.RecordPhase(loop, KassaMeters.Phase.Persist, _persist);
    }

    private static long Add(ref long total, long since)
    {
        var now = Stopwatch.GetTimestamp();
        total += now - since;
        return now;
    }
}
