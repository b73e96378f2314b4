using Kassa.Core.Balances;

namespace Kassa.Core.Metering;

/// <summary>
/// The running aggregates of the events of one meter, customer, group and hour (design §4: usage
/// queries read a few rollup rows, not millions of events). Values are micro-units (see
/// <see cref="Micro"/>).
/// <para>
/// A small mutable class rather than a struct: cells are built up in place from many events and
/// merged into window totals, and a mutable struct would silently lose updates made to a copy.
/// <see cref="Add"/> and <see cref="Merge"/> change only this cell, never their argument.
/// </para>
/// <para>
/// The merge is commutative and associative, with <c>new RollupCell()</c> as its identity, so cells
/// can be combined in any order and any grouping (per batch, per hour, per window) and give the same
/// result. Column by column: <see cref="Count"/> and <see cref="Sum"/> add (checked: overflow throws,
/// never wraps), <see cref="Min"/> and <see cref="Max"/> take the least and greatest, and the latest
/// value is the one with the greatest (<see cref="LatestAt"/>, <see cref="LatestValue"/>) pair:
/// the later timestamp wins and, on an equal timestamp, the greater value. The tie rule is what
/// makes the merge independent of arrival order. The database upsert of a rollup row must implement
/// exactly this rule:
/// <c>count = count + new.count, sum = sum + new.sum, min = LEAST(min, new.min),
/// max = GREATEST(max, new.max)</c>, and the latest pair replaced when <c>new.latest_at &gt; latest_at
/// OR (new.latest_at = latest_at AND new.latest_value &gt; latest_value)</c>.
/// </para>
/// <para>
/// An empty cell holds the identities of each column: <see cref="Min"/> = <see cref="long.MaxValue"/>,
/// <see cref="Max"/> = <see cref="long.MinValue"/>, <see cref="LatestAt"/> =
/// <see cref="DateTimeOffset.MinValue"/>, <see cref="LatestValue"/> = <see cref="long.MinValue"/>.
/// They lie outside the range of any value (<see cref="Micro.MaxAbs"/>), so no event is confused
/// with them; an empty cell is never stored.
/// </para>
/// </summary>
public sealed class RollupCell
{
    /// <summary>The number of events.</summary>
    public long Count { get; private set; }

    /// <summary>The sum of the event values, in micro-units.</summary>
    public long Sum { get; private set; }

    /// <summary>The smallest event value, in micro-units; <see cref="long.MaxValue"/> when empty.</summary>
    public long Min { get; private set; } = long.MaxValue;

    /// <summary>The greatest event value, in micro-units; <see cref="long.MinValue"/> when empty.</summary>
    public long Max { get; private set; } = long.MinValue;

    /// <summary>The value of the latest event (the greatest on a tie), in micro-units; <see cref="long.MinValue"/> when empty.</summary>
    public long LatestValue { get; private set; } = long.MinValue;

    /// <summary>The timestamp of the latest event, in UTC; <see cref="DateTimeOffset.MinValue"/> when empty.</summary>
    public DateTimeOffset LatestAt { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>Whether no event has been added or merged in.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>
    /// A cell from its stored columns (a rollup row). A count of 0 gives an empty cell whatever the
    /// other columns say. Throws <see cref="ArgumentOutOfRangeException"/> for a negative count or
    /// min &gt; max, which no sequence of events can produce.
    /// </summary>
    public static RollupCell FromStored(long count, long sum, long min, long max, long latestValue, DateTimeOffset latestAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return new RollupCell();
        if (min > max) throw new ArgumentOutOfRangeException(nameof(min), min, "min is greater than max.");
        return new RollupCell
        {
            Count = count,
            Sum = sum,
            Min = min,
            Max = max,
            LatestValue = latestValue,
            LatestAt = latestAt.ToUniversalTime(),
        };
    }

    /// <summary>
    /// Adds one event of <paramref name="valueMicros"/> micro-units that happened at
    /// <paramref name="at"/> (kept in UTC, so equal instants compare and store alike).
    /// </summary>
    public void Add(long valueMicros, DateTimeOffset at)
    {
        Count = checked(Count + 1);
        Sum = checked(Sum + valueMicros);
        Min = Math.Min(Min, valueMicros);
        Max = Math.Max(Max, valueMicros);
        TakeLatest(valueMicros, at.ToUniversalTime());
    }

    /// <summary>Adds every event of <paramref name="other"/> into this cell; <paramref name="other"/> is unchanged.</summary>
    public void Merge(RollupCell other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.IsEmpty) return;
        Count = checked(Count + other.Count);
        Sum = checked(Sum + other.Sum);
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        TakeLatest(other.LatestValue, other.LatestAt);
    }

    /// <summary>An independent copy.</summary>
    public RollupCell Clone() => (RollupCell)MemberwiseClone();

    /// <summary>
    /// The aggregate as the API reports it: <c>count</c> is the number of events (a count, not
    /// micro-units); <c>sum</c>, <c>min</c>, <c>max</c> and <c>latest</c> are exact decimals with at
    /// most 6 fractional digits. An empty cell reports 0 for all of them (callers normally skip empty
    /// cells; <see cref="UsageFold"/> never returns one). <c>unique_count</c> cannot be computed from
    /// cells, since distinct values do not add up across hours, and throws
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public decimal Value(Aggregation aggregation) => aggregation switch
    {
        Aggregation.Count => Count,
        Aggregation.UniqueCount => throw new InvalidOperationException("unique_count is counted from stored distinct values, not from rollup cells."),
        _ when IsEmpty && Enum.IsDefined(aggregation) => 0m,
        Aggregation.Sum => Micro.ToDecimal(Sum),
        Aggregation.Min => Micro.ToDecimal(Min),
        Aggregation.Max => Micro.ToDecimal(Max),
        Aggregation.Latest => Micro.ToDecimal(LatestValue),
        _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, "Unknown aggregation."),
    };

    /// <inheritdoc />
    public override string ToString() =>
        IsEmpty ? "RollupCell(empty)" : $"RollupCell(count={Count}, sum={Sum}, min={Min}, max={Max}, latest={LatestValue}@{LatestAt:O})";

    private void TakeLatest(long value, DateTimeOffset at)
    {
        if (at > LatestAt || (at == LatestAt && value > LatestValue))
        {
            LatestAt = at;
            LatestValue = value;
        }
    }
}
