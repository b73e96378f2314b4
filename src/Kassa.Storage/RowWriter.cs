using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// Runs one parameterised statement for many rows, the fast way on each engine: SQLite prepares it
/// once and rebinds per row (in-process, a few microseconds a row). On PostgreSQL an INSERT or an
/// UPDATE by key of several rows becomes one statement over arrays (<c>INSERT … SELECT * FROM
/// unnest($1::text[], …)</c>, see <see cref="MultiRowStatement"/>): one bind and executor start for all
/// the rows instead of one per row, which was most of the server's time in a balance batch's writes.
/// Other statements (a single row, another shape) go one per row in one round trip (an
/// <see cref="NpgsqlBatch"/>), which the server plans once per connection thanks to automatic
/// preparation. The balance engine writes all its rows this way.
/// </summary>
internal static class RowWriter
{
    public const int RowsPerRoundTripMax = 1_000;

    /// <summary>Most rows of one held INSERT that go as a row each, to be joined with other requests' at the commit.</summary>
    private const int JoinedAtCommitRowsMax = 8;

    /// <param name="sql">The statement with named parameters <c>@name</c>, in the order <paramref name="values"/> returns them.</param>
    public static async Task ExecuteAsync<T>(SqlSession s, string sql, IReadOnlyList<T> rows, Func<T, object?[]> values)
    {
        if (rows.Count == 0) return;
        if (s.Connection is SqliteStatementCache)
        {
            ExecuteEachSqlite(s, sql, rows, values, static (_, _) => { });
            return;
        }
        var rewritten = PositionalSql.For(sql);
        var pg = (NpgsqlConnection)s.Native;
        // Held rows join at the commit with other requests' (see Add), so a held statement needs its shape even for one row.
        var multi = rows.Count > 1 || s.DeferredRowWrites is not null ? await MultiRowStatement.ForAsync(pg, sql) : null;
        if (s.DeferredRowWrites is { } held)
        {
            // Held for one round trip with the other writes of the same WriteTogetherAsync (whose caller bounds the rows).
            Add(held, rows);
            return;
        }
        for (var start = 0; start < rows.Count; start += RowsPerRoundTripMax)
        {
            // What the session holds rides in front of the first round trip (ADR 0022).
            await using var batch = s.TakeHeld();
            Add(batch, rows.Skip(start).Take(RowsPerRoundTripMax).ToList());
            await s.RunHeldAsync(batch, b => b.ExecuteNonQueryAsync());
        }

        void Add(NpgsqlBatch batch, IReadOnlyList<T> chunk)
        {
            if (ReferenceEquals(batch, s.DeferredRowWrites) && multi is not null && multi.IsInsert && chunk.Count <= JoinedAtCommitRowsMax)
            {
                // Held to the commit: one row a statement, each known to the session as a held row of this INSERT, so
                // the rows of every request of a batch join into one statement there (SqlSession.JoinHeldRowsAsync). A
                // request's few rows (a grant's bucket and movements); a balance batch's many are one statement already.
                foreach (var row in chunk)
                {
                    var command = Command(rewritten.Text, values(row));
                    batch.BatchCommands.Add(command);
                    s.KnowHeldRow(command, sql);
                }
                return;
            }
            // One row goes as the plain statement (the shape is looked up for a held one only to know whether it joins).
            if (chunk.Count > 1 && multi?.Command(chunk.Select(values).ToList()) is { } together) batch.BatchCommands.Add(together);
            else foreach (var row in chunk) batch.BatchCommands.Add(Command(rewritten.Text, values(row)));
        }
    }

    /// <summary>
    /// SQLite only: runs <paramref name="sql"/> once per row as <see cref="ExecuteAsync{T}"/> does, telling
    /// <paramref name="changed"/> how many rows each run changed — for an <c>INSERT … ON CONFLICT DO NOTHING</c>,
    /// whether the row was stored. One prepared statement rebound per row: a single-row insert needs no
    /// statement journal, where a multi-row one journals every page it touches in case it must undo itself.
    /// </summary>
    public static void ExecuteEachSqlite<T>(SqlSession s, string sql, IReadOnlyList<T> rows, Func<T, object?[]> values, Action<T, int> changed)
    {
        if (rows.Count == 0) return;
        var cache = (SqliteStatementCache)s.Connection;
        var statement = cache.RowStatement(sql);
        var names = statement.Names;
        var db = cache.Inner.Handle!;
        foreach (var row in rows)
        {
            // Bound by position through SQLitePCLRaw (SqliteRowStatement); a row with a value of another type,
            // or met by a busy database, goes through Microsoft.Data.Sqlite's command instead.
            var v = values(row);
            var count = statement.TryRun(db, v);
            changed(row, count ?? RunCommand(cache, s, sql, names, v));
        }
    }

    private static int RunCommand(SqliteStatementCache cache, SqlSession s, string sql, string[] names, object?[] values)
    {
        var command = cache.Rent(sql);
        try
        {
            command.Transaction = (SqliteTransaction?)s.Transaction;
            for (var i = 0; i < names.Length; i++) command.Parameters.Add(new SqliteParameter("@" + names[i], values[i] ?? DBNull.Value));
            return command.ExecuteNonQuery();
        }
        finally
        {
            cache.Return(command);
        }
    }

    private static NpgsqlBatchCommand Command(string positional, object?[] values)
    {
        var command = new NpgsqlBatchCommand(positional);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        return command;
    }
}
