namespace Kassa.Engine.Common;

/// <summary>The places in a group commit where a failure changes what must happen next.</summary>
public enum GroupCommitPoint
{
    /// <summary>Every item decided and checked, nothing written yet.</summary>
    BeforeWrite,
    /// <summary>Every row written inside the transaction, not committed.</summary>
    DuringWrite,
    /// <summary>The commit fails and the database rolled the transaction back, but the caller cannot tell.</summary>
    AtCommitRolledBack,
    /// <summary>The commit happened, but its acknowledgement was lost (a connection dropped during COMMIT).</summary>
    AtCommitCommitted,
    /// <summary>The batch is committed; answering its waiters fails.</summary>
    AfterCommit,
}

/// <summary>The group-commit loops that can be faulted: the balance engine, meter ingest and the API mutation batcher.</summary>
public enum GroupCommitLoop
{
    Balances,
    Ingest,
    Mutations,
}

/// <summary>
/// Failures forced at chosen points of a group commit, so tests can prove what each failure leads to
/// (exactly-once effects, exact answers) on a real database. Unarmed — always, outside tests — a
/// point costs one volatile read.
/// </summary>
public sealed class GroupCommitFaults
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(GroupCommitLoop, GroupCommitPoint), int> _armed = [];
    private volatile int _armedTotal;

    /// <summary>Makes the next <paramref name="times"/> passes of <paramref name="loop"/> through <paramref name="point"/> fail.</summary>
    public void Arm(GroupCommitLoop loop, GroupCommitPoint point, int times = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(times);
        lock (_gate)
        {
            _armed[(loop, point)] = _armed.GetValueOrDefault((loop, point)) + times;
            _armedTotal += times;
        }
    }

    /// <summary>How many armed failures have not fired yet.</summary>
    public int Pending => _armedTotal;

    /// <summary>Throws <see cref="InjectedFaultException"/> when this point is armed.</summary>
    public void Hit(GroupCommitLoop loop, GroupCommitPoint point)
    {
        if (_armedTotal == 0) return;
        lock (_gate)
        {
            if (!_armed.TryGetValue((loop, point), out var left) || left == 0) return;
            _armed[(loop, point)] = left - 1;
            _armedTotal--;
        }
        throw new InjectedFaultException(loop, point);
    }
}

/// <summary>A failure a test forced through <see cref="GroupCommitFaults"/>.</summary>
public sealed class InjectedFaultException(GroupCommitLoop loop, GroupCommitPoint point)
    : Exception($"injected fault: {loop} at {point}")
{
    public GroupCommitPoint Point { get; } = point;
}
