using Kassa.Storage;
using Microsoft.Data.Sqlite;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// The balance engine's SQLite row writes go through <see cref="SqliteRowStatement"/> (bound by position via
/// SQLitePCLRaw) instead of Microsoft.Data.Sqlite's command. Rows written before and after must read back the
/// same, so every value type the writes pass is stored byte for byte as Microsoft.Data.Sqlite stores it, in
/// columns of every affinity the schema uses.
/// </summary>
public sealed class SqliteRowStatementTests : IDisposable
{
    private readonly SqliteConnection _db = new("Data Source=:memory:");

    public SqliteRowStatementTests()
    {
        _db.Open();
        foreach (var table in new[] { "by_command", "by_statement" })
        {
            using var create = _db.CreateCommand();
            create.CommandText = $"CREATE TABLE {table} (n INTEGER PRIMARY KEY, t TEXT, i INTEGER, r NUMERIC, f REAL, b BLOB, x)";
            create.ExecuteNonQuery();
        }
    }

    public void Dispose() => _db.Dispose();

    private static readonly object?[] Values =
    [
        null, DBNull.Value, "", "bench_ent_7", "héllo ✓ 𝄞", "{\"allowed\":true}", "12", "1.50",
        // Longer than the statement's first text buffer (it grows), then short again; a lone surrogate (replaced, as .NET's encoder does).
        new string('ü', 300), "after", "a\ud800b",
        0L, -5L, long.MaxValue, long.MinValue, 0, 42, -7, int.MaxValue, true, false,
        0m, 1m, 1.5m, 1.50m, -0.000001m, 100.00m, 2_500_000m, 0.1m, decimal.MaxValue, decimal.MinValue, 79228162514264337593543.950335m,
    ];

    private const string Insert = "INSERT INTO {0} (n, t, i, r, f, b, x) VALUES (@n, @t, @i, @r, @f, @b, @x)";

    [Fact]
    public void Every_value_type_is_stored_as_Microsoft_Data_Sqlite_stores_it_in_every_column_affinity()
    {
        using (var transaction = _db.BeginTransaction())
        {
            var statement = SqliteRowStatement.Prepare(_db.Handle!, string.Format(Insert, "by_statement"), ["n", "t", "i", "r", "f", "b", "x"]);
            using var command = _db.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = string.Format(Insert, "by_command");
            for (var n = 0; n < Values.Length; n++)
            {
                object?[] row = [(long)n, Values[n], Values[n], Values[n], Values[n], Values[n], Values[n]];
                command.Parameters.Clear();
                foreach (var (name, value) in new[] { "n", "t", "i", "r", "f", "b", "x" }.Zip(row))
                    command.Parameters.Add(new SqliteParameter("@" + name, value ?? DBNull.Value));
                command.ExecuteNonQuery();
                Assert.Equal(1, statement.TryRun(_db.Handle!, row));
            }
            statement.Dispose();
            // Nothing left unreset: the transaction commits.
            transaction.Commit();
        }

        var byCommand = Dump("by_command");
        Assert.Equal(Values.Length, byCommand.Count);
        Assert.Equal(byCommand, Dump("by_statement"));
        // The comparison is not vacuous: the rows hold each storage class.
        var classes = byCommand.SelectMany(r => r.Split('|')).Where((_, i) => i % 2 == 0).ToHashSet();
        Assert.Superset(new HashSet<string> { "null", "text", "integer", "real" }, classes);
    }

    [Fact]
    public void A_constraint_violation_throws_the_SqliteException_a_command_would_and_leaves_the_statement_usable()
    {
        var statement = SqliteRowStatement.Prepare(_db.Handle!, string.Format(Insert, "by_statement"), ["n", "t", "i", "r", "f", "b", "x"]);
        object?[] row = [1L, "a", 1L, 1L, 1L, 1L, 1L];
        Assert.Equal(1, statement.TryRun(_db.Handle!, row));
        var e = Assert.Throws<SqliteException>(() => statement.TryRun(_db.Handle!, row));
        Assert.Equal(19, e.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Equal(1, statement.TryRun(_db.Handle!, [2L, "b", 2L, 2L, 2L, 2L, 2L]));
        statement.Dispose();
        Assert.Equal(2, Dump("by_statement").Count);
    }

    [Fact]
    public void A_value_of_another_type_is_left_to_Microsoft_Data_Sqlite()
    {
        // A row with a value of another type binds nothing it could step: the statement answers null and stores
        // nothing, and the next row runs normally.
        using (var transaction = _db.BeginTransaction())
        {
            using var statement = SqliteRowStatement.Prepare(_db.Handle!, string.Format(Insert, "by_statement"), ["n", "t", "i", "r", "f", "b", "x"]);
            foreach (var other in new object[] { DateTimeOffset.UnixEpoch, 1.5d, new byte[] { 1 }, Guid.Empty })
                Assert.Null(statement.TryRun(_db.Handle!, [1L, "a", 1L, 1L, 1L, 1L, other]));
            Assert.Equal(1, statement.TryRun(_db.Handle!, [2L, "b", 2L, 2L, 2L, 2L, 2L]));
            transaction.Commit();
        }
        Assert.Single(Dump("by_statement"));
    }

    [Fact]
    public void A_query_reads_every_row_as_Microsoft_Data_Sqlite_reads_it()
    {
        // The balance writer's loads read rows raw (SqliteRawReader); its typed getters must answer what
        // SqliteDataReader answers for the same stored values, NULL and the empty string included.
        using (var transaction = _db.BeginTransaction())
        {
            using var fill = SqliteRowStatement.Prepare(_db.Handle!, string.Format(Insert, "by_statement"), ["n", "t", "i", "r", "f", "b", "x"]);
            object?[][] rows =
            [
                [1L, "bench_ent_7", 42L, 1L, null, null, null], [2L, "", 0L, 0L, null, null, null], [3L, "héllo ✓ 𝄞", long.MinValue, 1L, null, null, null],
                [4L, null, null, null, null, null, null], [5L, new string('ü', 300), long.MaxValue, 0L, null, null, null], [6L, "{\"a\":[1]}", -7L, 1L, null, null, null],
                // Text repeated from row to row, as a balance's buckets repeat their account and customer: the same text
                // twice, then one that extends it, one it extends, and the first again (each row reads its own).
                [7L, "bench_ent_7", 1L, 1L, null, null, null], [8L, "bench_ent_7", 2L, 1L, null, null, null], [9L, "bench_ent_70", 3L, 1L, null, null, null],
                [10L, "bench_ent_", 4L, 1L, null, null, null], [11L, "bench_ent_7", 5L, 1L, null, null, null],
            ];
            foreach (var row in rows) Assert.Equal(1, fill.TryRun(_db.Handle!, row));
            transaction.Commit();
        }
        const string query = "SELECT n, t, i, r FROM by_statement WHERE n >= @from AND n IN (SELECT value FROM json_each(@ids)) ORDER BY n";
        static string Read(System.Data.Common.DbDataReader r) => string.Join("|",
            r.GetInt64(0), r.IsDBNull(1) ? "null" : "'" + r.GetString(1) + "'", r.IsDBNull(2) ? "null" : r.GetInt64(2), r.IsDBNull(3) ? "null" : r.GetBoolean(3), r.FieldCount);
        using var statement = SqliteRowStatement.Prepare(_db.Handle!, query, ["from", "ids"]);
        var raw = statement.TryQuery(_db.Handle!, [2L, "[1,2,3,4,5,6,7,8,9,10,11]"], Read);
        using var command = _db.CreateCommand();
        command.CommandText = query;
        command.Parameters.AddWithValue("@from", 2L);
        command.Parameters.AddWithValue("@ids", "[1,2,3,4,5,6,7,8,9,10,11]");
        var expected = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) expected.Add(Read(reader));
        }
        Assert.Equal(10, expected.Count);
        Assert.Equal(expected, raw);
        Assert.Equal(["8|'bench_ent_7'|2|True|4", "9|'bench_ent_70'|3|True|4", "10|'bench_ent_'|4|True|4", "11|'bench_ent_7'|5|True|4"],
            raw!.Where(r => r.Contains("bench_ent_")).ToList()[1..]);
        Assert.Equal("2|''|0|False|4", raw![0]);
        Assert.Equal("4|null|null|null|4", raw[2]);
        // The statement was reset: it runs again with other values, and no read is left open (the table can be dropped).
        Assert.Equal(["1|'bench_ent_7'|42|True|4"], statement.TryQuery(_db.Handle!, [0L, "[1]"], Read));
        using var drop = _db.CreateCommand();
        drop.CommandText = "DROP TABLE by_command";
        drop.ExecuteNonQuery();
    }

    /// <summary>Each row as "storage class|hex of the stored bytes" per column, in order.</summary>
    private List<string> Dump(string table)
    {
        using var command = _db.CreateCommand();
        command.CommandText = $"""
            SELECT typeof(t) || '|' || hex(t) || '|' || typeof(i) || '|' || hex(i) || '|' || typeof(r) || '|' || hex(r) || '|' ||
                   typeof(f) || '|' || hex(f) || '|' || typeof(b) || '|' || hex(b) || '|' || typeof(x) || '|' || hex(x)
            FROM {table} ORDER BY n
            """;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(reader.GetString(0));
        return rows;
    }

    [Fact]
    public void A_text_asked_for_again_after_the_cache_started_over_gets_a_live_statement()
    {
        var cache = new SqliteStatementCache(_db);
        // One instance of the text, asked for first, then more distinct texts than the cache keeps (it finalizes them
        // all and starts over), then the first instance again: found by identity, it must not be the finalized one.
        var first = "SELECT @a + 1";
        Assert.Equal([2L], cache.TryQuery(first, r => r.GetInt64(0), ("a", 1L)));
        for (var i = 0; i <= SqliteStatementCache.StatementsMax; i++)
            Assert.Equal([(long)i], cache.TryQuery($"SELECT @a + {i} - 1", r => r.GetInt64(0), ("a", 1L)));
        Assert.Equal([8L], cache.TryQuery(first, r => r.GetInt64(0), ("a", 7L)));
        // A text built anew on each call (another instance, the same characters) reads the same.
        Assert.Equal([4L], cache.TryQuery(string.Concat("SELECT @a ", "+ 1"), r => r.GetInt64(0), ("a", 3L)));
    }
}
