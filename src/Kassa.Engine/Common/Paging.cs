using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Core.Validation;

namespace Kassa.Engine.Common;

/// <summary>A validated page request: a limit within 1–100 and an optional keyset position.</summary>
public readonly record struct PageRequest(int Limit, Cursor? After)
{
    public static Result<PageRequest> Parse(string? limit, string? startingAfter)
    {
        var size = Rules.PageSizeDefault;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size) || size < 1 || size > Rules.PageSizeMax))
            return KassaError.Validation("limit", $"must be an integer from 1 to {Rules.PageSizeMax}");
        Cursor? after = null;
        if (startingAfter is not null)
        {
            if (!Cursor.TryDecode(startingAfter, out var c)) return KassaError.Validation("starting_after", "must be a next_cursor value from a previous page");
            after = c;
        }
        return new PageRequest(size, after);
    }

    /// <summary>
    /// Turns the rows a store returned for <c>Limit + 1</c> into a page: the extra row only says
    /// that more follow.
    /// </summary>
    public Page<TOut> Build<TRow, TOut>(IReadOnlyList<TRow> rows, Func<TRow, Cursor> cursorOf, Func<TRow, TOut> map)
    {
        var hasMore = rows.Count > Limit;
        var count = hasMore ? Limit : rows.Count;
        var data = new TOut[count];
        for (var i = 0; i < count; i++) data[i] = map(rows[i]);
        return new Page<TOut>(data, hasMore, hasMore ? cursorOf(rows[count - 1]).Encode() : null);
    }
}
