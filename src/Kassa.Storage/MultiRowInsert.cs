using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// A PostgreSQL INSERT of many rows as one statement over one array per column:
/// <c>INSERT INTO t (a, b) VALUES (@a, @b)</c> becomes <c>INSERT INTO t (a, b) SELECT * FROM
/// unnest($1::text[], $2::bigint[])</c>. The text is the same whatever the row count, so it stays
/// prepared. Each array's type is the column's, read from the catalog once per database and table
/// (the migrations define the columns; no list of types is kept by hand to drift from them).
/// Statements of another shape, or with a column type not mapped here, return null and are sent one
/// row per statement as before.
/// </summary>
internal sealed partial class MultiRowInsert
{
    [GeneratedRegex(@"^\s*INSERT INTO (\w+) \(([^)]*)\)\s*VALUES \(([^)]*)\)(\s*ON CONFLICT DO NOTHING)?\s*$", RegexOptions.Singleline)]
    private static partial Regex InsertShape();

    [GeneratedRegex(@"^@\w+$")]
    private static partial Regex Parameter();

    // Keyed by (database, statement text): both bounded (the statements are constants in the code).
    private static readonly ConcurrentDictionary<(string Database, string Sql), MultiRowInsert?> Known = new();
    private static readonly ConcurrentDictionary<(string Database, string Table), IReadOnlyDictionary<string, string>> Columns = new();

    public string Sql { get; }
    private readonly Func<object?, object?>[] _converters;
    private readonly Func<int, Array>[] _arrays;

    private MultiRowInsert(string sql, Func<int, Array>[] arrays, Func<object?, object?>[] converters)
    {
        Sql = sql;
        _arrays = arrays;
        _converters = converters;
    }

    public static async ValueTask<MultiRowInsert?> ForAsync(NpgsqlConnection connection, string sql)
    {
        var database = connection.Database;
        if (Known.TryGetValue((database, sql), out var known)) return known;
        var made = await MakeAsync(connection, database, sql);
        Known[(database, sql)] = made;
        return made;
    }

    private static async Task<MultiRowInsert?> MakeAsync(NpgsqlConnection connection, string database, string sql)
    {
        var m = InsertShape().Match(sql);
        if (!m.Success) return null;
        var table = m.Groups[1].Value;
        var columns = m.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries);
        var parameters = m.Groups[3].Value.Split(',', StringSplitOptions.TrimEntries);
        // Each column given by one parameter of its own, in column order: the rows' values arrive in that order.
        if (columns.Length != parameters.Length || !parameters.All(p => Parameter().IsMatch(p)) || parameters.Distinct().Count() != parameters.Length) return null;
        if (!Columns.TryGetValue((database, table), out var types))
        {
            types = await ColumnTypesAsync(connection, table);
            Columns[(database, table)] = types;
        }
        var arrays = new Func<int, Array>[columns.Length];
        var converters = new Func<object?, object?>[columns.Length];
        var casts = new string[columns.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            if (!types.TryGetValue(columns[i], out var type)) return null;
            switch (type)
            {
                case "text":
                    arrays[i] = n => new string?[n];
                    converters[i] = v => v;
                    break;
                case "bigint":
                    arrays[i] = n => new long?[n];
                    converters[i] = v => v is null ? null : Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "integer":
                    arrays[i] = n => new int?[n];
                    converters[i] = v => v is null ? null : Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "boolean":
                    arrays[i] = n => new bool?[n];
                    converters[i] = v => v is null ? null : Convert.ToBoolean(v, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default:
                    return null;
            }
            casts[i] = $"${i + 1}::{type}[]";
        }
        var text = $"INSERT INTO {table} ({string.Join(", ", columns)}) SELECT * FROM unnest({string.Join(", ", casts)}){m.Groups[4].Value}";
        return new MultiRowInsert(text, arrays, converters);
    }

    private static async Task<IReadOnlyDictionary<string, string>> ColumnTypesAsync(NpgsqlConnection connection, string table)
    {
        // format_type gives the names used in the casts above ("bigint", "text", "boolean", "integer").
        await using var command = new NpgsqlCommand("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var r = await command.ExecuteReaderAsync();
        while (await r.ReadAsync()) types[r.GetString(0)] = r.GetString(1);
        return types;
    }

    /// <summary>The statement for these rows (each row's values in column order).</summary>
    public NpgsqlBatchCommand Command(IReadOnlyList<object?[]> rows)
    {
        var command = new NpgsqlBatchCommand(Sql);
        for (var c = 0; c < _arrays.Length; c++)
        {
            var array = _arrays[c](rows.Count);
            for (var r = 0; r < rows.Count; r++) array.SetValue(_converters[c](rows[r][c]), r);
            command.Parameters.Add(new NpgsqlParameter { Value = array });
        }
        return command;
    }
}
