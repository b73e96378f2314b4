using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// The balance upkeep a test clock's advance runs (spec §11): held locks that expire, periods that
/// reset and buckets (credit grants, allowances) that expire, for the customers on the clock. The
/// real-time maintenance worker leaves these customers alone; they live in the clock's time.
/// </summary>
public interface IClockBalanceStore
{
    /// <summary>
    /// The earliest instant after <paramref name="after"/> (any, when null) and at or before
    /// <paramref name="to"/> at which a balance of a customer on the clock falls due: a held lock's
    /// expiry, a period's reset, or an unrecorded bucket expiry; null when there is none.
    /// </summary>
    Task<DateTimeOffset?> NextBalanceDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset? after, DateTimeOffset to);

    /// <summary>The clock's customers with a balance due after <paramref name="after"/> and at or before <paramref name="at"/>, by id, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> CustomersWithBalancesDueOnClockAsync(Tenant tenant, string clockId, DateTimeOffset? after, DateTimeOffset at, int limit);
}
