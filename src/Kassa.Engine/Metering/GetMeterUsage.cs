using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

/// <summary>
/// <c>GET /v1/meters/{id}/usage</c>: the meter's value per window, exact for any <c>from</c> and
/// <c>to</c> (spec §6: a billing period starts at the subscription's second, not on an hour). The
/// whole hours inside the range are answered from the hourly rollups, so the cost follows the hours
/// and groups asked for, not the event count, plus the raw events the roller has not folded yet (those
/// at or above its watermark, a few seconds' worth); the partial first and last hours (at most two
/// hours of events) from the raw events, folded by the same rule the roller uses. Without <c>window</c> the whole
/// range is one window. Windows are calendar windows in UTC, clipped to the range; only windows with
/// events appear.
/// </summary>
public static class GetMeterUsage
{
    /// <summary>
    /// Summed rows one query may read (per hour for window=hour, else per day, per group): a month across
    /// customers is 31 per group value.
    /// </summary>
    public const int RowsMax = 200_000;

    public sealed record Query(string? CustomerId, DateTimeOffset From, DateTimeOffset To, UsageWindow? Window, IReadOnlyList<string> GroupBy);

    public sealed record UsageValue(DateTimeOffset WindowStart, DateTimeOffset WindowEnd, decimal Value, IReadOnlyDictionary<string, string?> Group);

    public sealed record UsageResource(string MeterId, string Aggregation, string? CustomerId, DateTimeOffset From, DateTimeOffset To, string? Window,
        IReadOnlyList<UsageValue> Data)
    {
        [JsonPropertyOrder(-1)] public string Object => "meter_usage";
    }

    /// <summary>Checks what does not need the meter: the range, its grain and its size.</summary>
    public static Result<Query> Validate(string? customerId, DateTimeOffset? from, DateTimeOffset? to, UsageWindow? window, IReadOnlyList<string> groupBy)
    {
        if (from is not { } f) return KassaError.Missing("from");
        if (to is not { } t) return KassaError.Missing("to");
        if (UsageWindows.ValidateRange(f, t, window ?? UsageWindow.Month) is { } range) return KassaError.Validation("to", range);
        return new Query(customerId, f, t, window, groupBy);
    }

    public static async Task<Result<UsageResource>> Execute(IStoreSession s, Tenant tenant, string meterId, Query q)
    {
        var meter = await s.Metering.GetMeterAsync(tenant, meterId);
        if (meter is null) return KassaError.NotFound("meter", meterId);
        foreach (var path in q.GroupBy)
        {
            if (!meter.GroupBy.Contains(path, StringComparer.Ordinal))
                return KassaError.Validation("group_by", $"'{path}' is not one of the meter's group_by dimensions ({string.Join(", ", meter.GroupBy)})");
        }
        var windowOf = (DateTimeOffset hour) => q.Window is { } w
            ? (Max(UsageWindows.Floor(hour, w), q.From), Min(UsageWindows.Next(UsageWindows.Floor(hour, w), w), q.To))
            : (q.From, q.To);
        // The database sums hourly cells into hours (window=hour) or UTC days (every other window, each of
        // which is a whole number of days clipped to whole hours, and a day never straddles two of them);
        // only the days' few rows come back to be folded into their windows here.
        var bucket = q.Window == UsageWindow.Hour ? HourMicros : DayMicros;
        var projected = new Dictionary<string, string>(StringComparer.Ordinal);
        var identity = q.GroupBy.SequenceEqual(meter.GroupBy, StringComparer.Ordinal);
        string Project(string key)
        {
            if (identity) return key;
            if (!projected.TryGetValue(key, out var p)) projected[key] = p = MeterMatch.ProjectGroupKey(key, q.GroupBy);
            return p;
        }
        // Whole hours [firstHour, lastHour) come from the rollups; the rest of [from, to) from raw events.
        var firstHour = UsageWindows.HourFloor(q.From) == q.From ? q.From : UsageWindows.HourFloor(q.From).AddHours(1);
        var lastHour = UsageWindows.HourFloor(q.To);
        var wholeHours = firstHour < lastHour;
        var raw = new List<(DateTimeOffset At, MeterContribution Contribution)>();
        var definition = meter.ToDefinition();
        foreach (var (rawFrom, rawTo) in wholeHours ? [(q.From, firstHour), (lastHour, q.To)] : new[] { (q.From, q.To) })
        {
            if (rawFrom >= rawTo) continue;
            var events = await s.Metering.ListEventsAsync(tenant, q.CustomerId, meter.EventName, rawFrom, rawTo, null, RawEventsMax + 1);
            if (events.Count > RawEventsMax) return TooManyRaw();
            foreach (var e in events)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(e.PropertiesJson);
                // The rule ingestion used: an event the meter cannot read was refused then, so it is not here.
                if (MeterContribution.TryFrom(definition, e.EventName, doc.RootElement, out var contribution, out _) && contribution is { } c)
                    raw.Add((e.Timestamp, c));
            }
        }
        var (rollupFrom, rollupTo) = wholeHours ? (firstHour, lastHour) : (q.From, q.From);
        if (!wholeHours) return Fold(meter, q, Project, windowOf, raw, [], []);

        // The rollups hold exactly the events below the watermark they were read with. Reads here may run
        // without a snapshot (or in a READ COMMITTED transaction), so the watermark is read before and
        // after them: equal, and the rollups read are the ones of that watermark (a roll moves rollups and
        // watermark in one commit, and the watermark only grows). The events at or above it are then read
        // raw; any of them folded since is still a raw event, so nothing is counted twice or missed.
        try
        {
            return await FromRollups();
        }
        catch (QuantityOverflowException e)
        {
            // A cell the roller marked overflowed: the window has no 64-bit total, as the raw events would say.
            return new KassaError(ErrorCodes.QuantityOverflow, e.Message);
        }

        async Task<Result<UsageResource>> FromRollups()
        {
            for (var attempt = 1; ; attempt++)
            {
                var watermark = await s.Metering.ReadWatermarkAsync();
                IReadOnlyList<BucketValue> values = [];
                IReadOnlyList<BucketCell> cells = [];
                if (meter.Aggregation == Aggregation.UniqueCount)
                {
                    values = await s.Metering.DistinctValuesAsync(tenant, meter.Id, q.CustomerId, rollupFrom, rollupTo, bucket, RowsMax + 1);
                    if (values.Count > RowsMax) return TooMany();
                }
                else if (meter.Aggregation == Aggregation.Latest)
                {
                    // latest needs each hour's latest instant, which a sum over the bucket does not keep: it folds hourly cells.
                    var rows = await s.Metering.LoadRollupsAsync(tenant, meter.Id, q.CustomerId, rollupFrom, rollupTo, RowsMax + 1);
                    if (rows.Count > RowsMax) return TooMany();
                    cells = rows.Select(r => new BucketCell(r.Hour, r.GroupKey, r.Cell)).ToList();
                }
                else
                {
                    cells = await s.Metering.SumRollupsAsync(tenant, meter.Id, q.CustomerId, rollupFrom, rollupTo, bucket, RowsMax + 1);
                    if (cells.Count > RowsMax) return TooMany();
                }
                if (await s.Metering.ReadWatermarkAsync() != watermark)
                {
                    if (attempt < WatermarkReadsMax) continue;
                    throw new UnavailableException("The meter's rollups kept moving while they were read; retry the request");
                }
                var unrolled = await s.Metering.UnrolledEventsAsync(tenant, q.CustomerId, meter.EventName, watermark, rollupFrom, rollupTo, RawEventsMax + 1);
                // A backlog this large is the roller's (stopped or far behind), not the caller's: retryable.
                if (unrolled.Count + raw.Count > RawEventsMax)
                    throw new UnavailableException($"More than {RawEventsMax:#,0} events of this range are not rolled up yet; retry shortly");
                foreach (var e in unrolled)
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(e.PropertiesJson);
                    if (MeterContribution.TryFrom(definition, e.EventName, doc.RootElement, out var contribution, out _) && contribution is { } c)
                        raw.Add((e.Timestamp, c));
                }
                return Fold(meter, q, Project, windowOf, raw, values, cells);
            }
        }
    }

    /// <summary>Reads of rollups one query retries when a roll committed in between (rolls commit about once a second at most).</summary>
    public const int WatermarkReadsMax = 5;

    private static Result<UsageResource> Fold(MeterRecord meter, Query q, Func<string, string> Project,
        Func<DateTimeOffset, (DateTimeOffset, DateTimeOffset)> windowOf, List<(DateTimeOffset At, MeterContribution Contribution)> raw,
        IReadOnlyList<BucketValue> values, IReadOnlyList<BucketCell> cells)
    {
        var data = new List<UsageValue>();
        if (meter.Aggregation == Aggregation.UniqueCount)
        {
            var all = values.Select(v => (At: v.Bucket, v.GroupKey, v.Value))
                .Concat(raw.Select(r => (r.At, r.Contribution.GroupKey, Value: r.Contribution.Distinct!)));
            foreach (var g in all.GroupBy(v => (Window: windowOf(v.At), Group: Project(v.GroupKey)))
                         .OrderBy(g => g.Key.Window.Item1).ThenBy(g => g.Key.Group, StringComparer.Ordinal))
            {
                var distinct = g.Select(v => v.Value).Distinct(StringComparer.Ordinal).Count();
                data.Add(new UsageValue(g.Key.Window.Item1, g.Key.Window.Item2, distinct, MeterMatch.ParseGroupKey(g.Key.Group)));
            }
        }
        else
        {
            // Each raw event as a cell of its own, at its own instant: it lands in the window of that instant.
            var rawCells = new List<BucketCell>(raw.Count);
            foreach (var (at, contribution) in raw)
            {
                var one = new RollupCell();
                one.Add(contribution.Value, at);
                rawCells.Add(new BucketCell(at, contribution.GroupKey, one));
            }
            cells = [.. cells, .. rawCells];
            var windows = new Dictionary<((DateTimeOffset, DateTimeOffset) Window, string Group), RollupCell>();
            foreach (var c in cells)
            {
                var key = (windowOf(c.Bucket), Project(c.GroupKey));
                if (!windows.TryGetValue(key, out var cell)) windows[key] = cell = new RollupCell();
                try
                {
                    cell.Merge(c.Cell);
                }
                catch (OverflowException)
                {
                    return new KassaError(ErrorCodes.QuantityOverflow, QuantityOverflowException.WindowMessage);
                }
            }
            foreach (var ((window, group), cell) in windows.OrderBy(w => w.Key.Window.Item1).ThenBy(w => w.Key.Group, StringComparer.Ordinal))
                data.Add(new UsageValue(window.Item1, window.Item2, cell.Value(meter.Aggregation), MeterMatch.ParseGroupKey(group)));
        }
        return new UsageResource(meter.Id, Aggregations.ToWire(meter.Aggregation), q.CustomerId, q.From, q.To,
            q.Window is { } win ? UsageWindows.ToWire(win) : null, data);
    }

    private const long HourMicros = 3_600_000_000;
    private const long DayMicros = 24 * HourMicros;

    /// <summary>Raw events one query may read for its partial first and last hours (a busy customer's two hours).</summary>
    public const int RawEventsMax = 200_000;

    private static KassaError TooManyRaw() =>
        KassaError.Validation("from", $"the partial first and last hours of the range hold more than {RawEventsMax:#,0} events; pass customer_id or whole hours");

    private static KassaError TooMany() =>
        KassaError.Validation("to", $"the range holds more than {RowsMax:#,0} rollup rows per window; narrow it, pass customer_id or a wider window");

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
