using System.Diagnostics;
using Kassa.Engine.Common;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Balances;

/// <summary>
/// Where a balance batch's time goes: loading balances, deciding in memory, writing rows. The rest of
/// a batch's time (<c>kassa.group_commit.batch.duration</c> minus these) is the transaction's begin and
/// commit (the commit phase is recorded by <see cref="GroupCommit{T}"/>). Recorded per batch into
/// <c>kassa.group_commit.phase.duration</c> so a slow hot path can be profiled on a running server.
/// </summary>
internal struct BatchPhases
{
    private long _load;
    private long _decide;

    /// <summary>Adds the time since <paramref name="since"/> to the load phase (a batch loads once per tenant group).</summary>
    public void AddLoad(long since) => _load += Stopwatch.GetTimestamp() - since;

    public void AddDecide(long since) => _decide += Stopwatch.GetTimestamp() - since;

    /// <summary>Records the batch's load and decide totals and its persist time.</summary>
    public readonly void Record(long persistSince)
    {
        KassaMeters.RecordPhase(GroupCommitLoop.Balances, KassaMeters.Phase.Load, _load);
        KassaMeters.RecordPhase(GroupCommitLoop.Balances, KassaMeters.Phase.Decide, _decide);
        KassaMeters.RecordPhase(GroupCommitLoop.Balances, KassaMeters.Phase.Persist, Stopwatch.GetTimestamp() - persistSince);
    }
}
