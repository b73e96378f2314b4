namespace Kassa.Core.Metering;

/// <summary>One row of a usage answer: the aggregates of one group in one window <c>[WindowStart, WindowEnd)</c>.</summary>
/// <param name="WindowStart">The calendar start of the window (UTC), even when the query's <c>from</c> is later.</param>
/// <param name="WindowEnd">The calendar end of the window (UTC, exclusive), even when the query's <c>to</c> is earlier.</param>
/// <param name="GroupKey">The group, as made by <see cref="MeterMatch.GroupKey"/>; <c>""</c> without group_by.</param>
/// <param name="Cell">The merged aggregates; never empty. Read the reported number with <see cref="RollupCell.Value"/>.</param>
public sealed record UsageRow(DateTimeOffset WindowStart, DateTimeOffset WindowEnd, string GroupKey, RollupCell Cell);

/// <summary>Folds hourly rollup cells into the windows of a usage query, without any storage.</summary>
public static class UsageFold
{
    /// <summary>
    /// Merges each hourly cell into the window (of size <paramref name="window"/>) that contains its
    /// hour, per group key. Hours outside <c>[from, to)</c> are ignored; callers pass
    /// <paramref name="from"/> and <paramref name="to"/> already floored to the hour
    /// (<see cref="UsageWindows.HourFloor"/>), because an hourly cell cannot be split. Windows keep
    /// their calendar bounds, so the first and last may hold only part of their hours. Only windows
    /// with data appear (a sparse answer: no zero rows for quiet windows or empty cells), ordered by
    /// window start, then group key in ordinal order. The input cells are not changed.
    /// </summary>
    public static IReadOnlyList<UsageRow> Fold(
        IEnumerable<(DateTimeOffset Hour, string GroupKey, RollupCell Cell)> hours,
        UsageWindow window,
        DateTimeOffset from,
        DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(hours);
        var windows = new Dictionary<(DateTimeOffset Start, string Group), RollupCell>();
        foreach (var (hour, group, cell) in hours)
        {
            ArgumentNullException.ThrowIfNull(cell);
            if (hour < from || hour >= to || cell.IsEmpty) continue;
            var key = (UsageWindows.Floor(hour, window), group ?? "");
            if (!windows.TryGetValue(key, out var total)) windows[key] = total = new RollupCell();
            total.Merge(cell);
        }
        return windows
            .OrderBy(w => w.Key.Start)
            .ThenBy(w => w.Key.Group, StringComparer.Ordinal)
            .Select(w => new UsageRow(w.Key.Start, UsageWindows.Next(w.Key.Start, window), w.Key.Group, w.Value))
            .ToList();
    }
}
