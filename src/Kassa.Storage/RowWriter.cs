using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// Runs one parameterised statement for many rows, the fast way on each engine: SQLite prepares it
/// once and rebinds per row (in-process, a few microseconds a row). On PostgreSQL an INSERT of
/// several rows becomes one statement over arrays (<c>INSERT … SELECT * FROM unnest($1::text[], …)</c>,
/// see <see cref="MultiRowInsert"/>): one parse, plan and executor start for all the rows instead of
/// one per row, which was most of the server's time in a balance batch's writes. Other statements
/// (the UPDATEs, a single row) go one per row in one round trip (an <see cref="NpgsqlBatch"/>), which
/// the server plans once per connection thanks to automatic preparation. The balance engine writes
/// all its rows this way.
/// </summary>
internal static partial class RowWriter
{
    public const int RowsPerRoundTripMax = 1_000;

    [GeneratedRegex(@"@(\w+)")]
    private static partial Regex ParameterName();

    /// <param name="sql">The statement with named parameters <c>@name</c>, in the order <paramref name="values"/> returns them.</param>
    public static async Task ExecuteAsync<T>(SqlSession s, string sql, IReadOnlyList<T> rows, Func<T, object?[]> values)
    {
        if (rows.Count == 0) return;
        var names = ParameterName().Matches(sql).Select(m => m.Groups[1].Value).Distinct().ToArray();
        if (s.Connection is SqliteStatementCache cache)
        {
            // The session's prepared statement for this text, kept for the rest of the session.
            var command = cache.Rent(sql);
            try
            {
                command.Transaction = (SqliteTransaction?)s.Transaction;
                var parameters = names.Select(n => command.Parameters.Add(new SqliteParameter("@" + n, null))).ToArray();
                foreach (var row in rows)
                {
                    var v = values(row);
                    for (var i = 0; i < parameters.Length; i++) parameters[i].Value = v[i] ?? DBNull.Value;
                    command.ExecuteNonQuery();
                }
            }
            finally
            {
                cache.Return(command);
            }
            return;
        }
        var pg = (NpgsqlConnection)s.Native;
        var multi = rows.Count > 1 ? await MultiRowInsert.ForAsync(pg, sql) : null;
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i + 1);
        var positional = multi?.Sql ?? ParameterName().Replace(sql, m => "$" + index[m.Groups[1].Value]);
        if (s.DeferredRowWrites is { } held)
        {
            // Held for one round trip with the other writes of the same WriteTogetherAsync (whose caller bounds the rows).
            Add(held, rows);
            return;
        }
        for (var start = 0; start < rows.Count; start += RowsPerRoundTripMax)
        {
            await using var batch = new NpgsqlBatch(pg, (NpgsqlTransaction?)s.Transaction);
            Add(batch, rows.Skip(start).Take(RowsPerRoundTripMax).ToList());
            await batch.ExecuteNonQueryAsync();
        }

        void Add(NpgsqlBatch batch, IReadOnlyList<T> chunk)
        {
            if (multi is not null) batch.BatchCommands.Add(multi.Command(chunk.Select(values).ToList()));
            else foreach (var row in chunk) batch.BatchCommands.Add(Command(positional, values(row)));
        }
    }

    private static NpgsqlBatchCommand Command(string positional, object?[] values)
    {
        var command = new NpgsqlBatchCommand(positional);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return command;
    }
}
