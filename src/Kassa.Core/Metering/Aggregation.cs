namespace Kassa.Core.Metering;

/// <summary>How a meter turns the events it matches into one number per window (spec §6).</summary>
public enum Aggregation
{
    /// <summary><c>count</c>: the number of matching events; needs no value property.</summary>
    Count,

    /// <summary><c>sum</c>: the sum of the value property.</summary>
    Sum,

    /// <summary><c>max</c>: the largest value of the value property.</summary>
    Max,

    /// <summary><c>min</c>: the smallest value of the value property.</summary>
    Min,

    /// <summary>
    /// <c>unique_count</c>: how many distinct values the value property takes. Distinct values do not
    /// add up across hours, so this one is counted from stored distinct values, not from rollup cells.
    /// </summary>
    UniqueCount,

    /// <summary><c>latest</c>: the value of the event with the latest timestamp (a gauge, e.g. seats in use).</summary>
    Latest,
}

/// <summary>The snake_case wire names of <see cref="Aggregation"/>, in one place so parse and print agree.</summary>
public static class Aggregations
{
    /// <summary>
    /// Parses <c>count</c>, <c>sum</c>, <c>max</c>, <c>min</c>, <c>unique_count</c> or <c>latest</c>
    /// (exact and lowercase, as in the API). Anything else, null included, returns false.
    /// </summary>
    public static bool TryParse(string? wire, out Aggregation aggregation)
    {
        (var ok, aggregation) = wire switch
        {
            "count" => (true, Aggregation.Count),
            "sum" => (true, Aggregation.Sum),
            "max" => (true, Aggregation.Max),
            "min" => (true, Aggregation.Min),
            "unique_count" => (true, Aggregation.UniqueCount),
            "latest" => (true, Aggregation.Latest),
            _ => (false, default(Aggregation)),
        };
        return ok;
    }

    /// <summary>The wire name of <paramref name="aggregation"/>; throws for a value outside the enum.</summary>
    public static string ToWire(Aggregation aggregation) => aggregation switch
    {
        Aggregation.Count => "count",
        Aggregation.Sum => "sum",
        Aggregation.Max => "max",
        Aggregation.Min => "min",
        Aggregation.UniqueCount => "unique_count",
        Aggregation.Latest => "latest",
        _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, "Unknown aggregation."),
    };

    /// <summary>
    /// Whether the aggregation reads a value property: every one but <c>count</c>, which only counts
    /// events and so must not name a property (a property it would ignore hints at a mistake).
    /// </summary>
    public static bool NeedsValueProperty(Aggregation aggregation) => aggregation != Aggregation.Count;
}
