using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Kassa.Storage;

/// <summary>
/// A statement written with Dapper's <c>@name</c> parameters, rewritten once for PostgreSQL's positional
/// <c>$n</c> (each distinct name numbered in order of first use) and kept: the texts are the store's own
/// constants, and rewriting them with a regex on every execution was ~3 % of the server's CPU under
/// credit grants on PostgreSQL.
/// </summary>
internal static partial class PositionalSql
{
    /// <summary>Texts kept at most; past it the cache starts over (the store's texts are a few hundred).</summary>
    public const int TextsMax = 2_048;

    public sealed record Rewritten(string Text, string[] Names);

    private static readonly ConcurrentDictionary<string, Rewritten> Cache = new(StringComparer.Ordinal);

    [GeneratedRegex(@"@(\w+)")]
    private static partial Regex NamedParameter();

    public static Rewritten For(string sql)
    {
        if (Cache.TryGetValue(sql, out var kept)) return kept;
        if (Cache.Count >= TextsMax) Cache.Clear();
        var order = new List<string>();
        var text = NamedParameter().Replace(sql, m =>
        {
            var name = m.Groups[1].Value;
            var i = order.IndexOf(name);
            if (i < 0)
            {
                order.Add(name);
                i = order.Count - 1;
            }
            return "$" + (i + 1);
        });
        var rewritten = new Rewritten(text, [.. order]);
        Cache[sql] = rewritten;
        return rewritten;
    }
}
