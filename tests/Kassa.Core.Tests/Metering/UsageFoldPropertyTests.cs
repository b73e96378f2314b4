using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class UsageFoldPropertyTests
{
    // A query range that is not aligned to days or months, inside a span of events that starts
    // before it and ends after it, so clamping and partial windows come up on every run.
    private static readonly DateTimeOffset SpanStart = new(2025, 12, 28, 0, 0, 0, TimeSpan.Zero);
    private const int SpanHours = 100 * 24;
    private static readonly DateTimeOffset From = new(2026, 1, 10, 5, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = new(2026, 3, 31, 19, 0, 0, TimeSpan.Zero);

    private static readonly string[] Groups = ["", "{\"m\":\"a\"}", "{\"m\":\"b\"}"];

    private sealed record Event(DateTimeOffset At, long Value, string Group);

    // Hours next to the range's ends and to day and month boundaries (Jan 31 → Feb 1, Feb 28 →
    // Mar 1), picked often so edges are hit and equal timestamps (the latest tie rule) are common.
    private static readonly int[] BusyHours = new[]
    {
        From.AddHours(-1), From, new DateTimeOffset(2026, 1, 31, 23, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero),
        new DateTimeOffset(2026, 2, 28, 23, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), To.AddHours(-1), To,
    }.Select(h => (int)(h - SpanStart).TotalHours).ToArray();

    private static readonly Gen<Event> EventGen =
        from hour in Gen.Frequency((1, Gen.Elements(BusyHours)), (2, Gen.Choose(0, SpanHours - 1)))
        from quarter in Gen.Choose(0, 3) // coarse on purpose: equal timestamps must come up
        from quarterUnits in Gen.Choose(-1000, 1000) // negative values are corrections
        from groupIndex in Gen.Choose(0, Groups.Length - 1)
        select new Event(SpanStart.AddHours(hour).AddMinutes(quarter * 15), quarterUnits * 250_000L, Groups[groupIndex]);

    private static readonly Gen<Event[]> EventsGen =
        from count in Gen.Choose(0, 150)
        from events in Gen.ArrayOf(EventGen, count)
        select events;

    private static (long, long, long, long, long, DateTimeOffset) Direct(IEnumerable<Event> events)
    {
        var list = events.ToList();
        // The latest is the greatest (timestamp, value) pair.
        var latest = list.OrderBy(e => e.At).ThenBy(e => e.Value).Last();
        return (list.Count, list.Sum(e => e.Value), list.Min(e => e.Value), list.Max(e => e.Value), latest.Value, latest.At);
    }

    // The window of an event computed independently of UsageWindows, from the calendar fields.
    private static (DateTimeOffset Start, DateTimeOffset End) Bounds(DateTimeOffset at, UsageWindow window)
    {
        var t = at.UtcDateTime;
        return window switch
        {
            UsageWindow.Hour => (new(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero), new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero).AddHours(1)),
            UsageWindow.Day => (new(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero).AddDays(1)),
            _ => (new(t.Year, t.Month, 1, 0, 0, 0, TimeSpan.Zero), t.Month == 12 ? new(t.Year + 1, 1, 1, 0, 0, 0, TimeSpan.Zero) : new(t.Year, t.Month + 1, 1, 0, 0, 0, TimeSpan.Zero)),
        };
    }

    [Fact]
    public void Folding_hourly_cells_equals_aggregating_raw_events_per_window()
    {
        var property = Prop.ForAll(EventsGen.ToArbitrary(), events =>
        {
            // Ingestion: one cell per (hour, group), events added in arrival order.
            var hourly = new Dictionary<(DateTimeOffset, string), RollupCell>();
            foreach (var e in events)
            {
                var key = (UsageWindows.HourFloor(e.At), e.Group);
                if (!hourly.TryGetValue(key, out var cell)) hourly[key] = cell = new RollupCell();
                cell.Add(e.Value, e.At);
            }
            var cells = hourly.Select(h => (h.Key.Item1, h.Key.Item2, h.Value)).ToList();

            foreach (var window in new[] { UsageWindow.Hour, UsageWindow.Day, UsageWindow.Month })
            {
                var folded = UsageFold.Fold(cells, window, From, To)
                    .Select(r => (r.WindowStart, r.WindowEnd, r.GroupKey, Snap(r.Cell)));
                var direct = events
                    .Where(e => e.At >= From && e.At < To)
                    .GroupBy(e => (Bounds: Bounds(e.At, window), e.Group))
                    .OrderBy(g => g.Key.Bounds.Start).ThenBy(g => g.Key.Group, StringComparer.Ordinal)
                    .Select(g => (g.Key.Bounds.Start, g.Key.Bounds.End, g.Key.Group, Direct(g)));
                if (!folded.SequenceEqual(direct)) return false;
            }
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    private static readonly Gen<(Event[] Events, int[] Part, int[] Order)> PartitionGen =
        from events in EventsGen
        from part in Gen.ArrayOf(Gen.Choose(0, 7), events.Length)
        from order in Gen.Shuffle(Enumerable.Range(0, 8))
        select (events, part, order);

    [Fact]
    public void Merging_cells_in_any_order_and_partition_gives_the_same_cell()
    {
        var property = Prop.ForAll(PartitionGen.ToArbitrary(), input =>
        {
            var (events, part, order) = input;
            var sequential = new RollupCell();
            foreach (var e in events) sequential.Add(e.Value, e.At);

            // Each event goes to one of 8 cells (any subset, not only runs); the cells are then
            // merged in a random order, one after another.
            var cells = Enumerable.Range(0, 8).Select(_ => new RollupCell()).ToArray();
            for (var i = 0; i < events.Length; i++) cells[part[i]].Add(events[i].Value, events[i].At);
            var chained = new RollupCell();
            foreach (var k in order) chained.Merge(cells[k]);

            // And as a tree (pairs, then pairs of pairs): a different grouping, so associativity.
            var level = order.Select(k => cells[k].Clone()).ToList();
            while (level.Count > 1)
            {
                var next = new List<RollupCell>();
                for (var k = 0; k < level.Count; k += 2)
                {
                    if (k + 1 < level.Count) level[k].Merge(level[k + 1]);
                    next.Add(level[k]);
                }
                level = next;
            }

            return Snap(chained) == Snap(sequential) && Snap(level[0]) == Snap(sequential);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }
}
