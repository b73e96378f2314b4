using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Npgsql;

namespace Kassa.Storage;

/// <summary>
/// A PostgreSQL INSERT or UPDATE of many rows as one statement over one array per column:
/// <c>INSERT INTO t (a, b) VALUES (@a, @b)</c> becomes <c>INSERT INTO t (a, b) SELECT * FROM
/// unnest($1::text[], $2::bigint[])</c>, and <c>UPDATE t SET a = @a WHERE k = @k AND j = @j</c> becomes
/// <c>UPDATE t AS t SET a = v.p1 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(p1, p2, p3)
/// WHERE t.k = v.p2 AND t.j = v.p3</c> (a nested loop over the key's index, as the single-row statement's
/// index scan). One statement instead of one per row saves the server a bind, an executor start and a
/// plan-cache lookup a row (a balance batch's bucket UPDATEs were 21 µs each on PostgreSQL). The text is
/// the same whatever the row count, so it stays prepared. Each array's type is the column's, read from the
/// catalog once per database and table (the migrations define the columns; no list of types is kept by
/// hand to drift from them). Statements of another shape, or with a column type not mapped here, return
/// null and are sent one row per statement as before.
/// </summary>
internal sealed partial class MultiRowStatement
{
    [GeneratedRegex(@"^\s*INSERT INTO (\w+) \(([^)]*)\)\s*VALUES \(([^)]*)\)(\s*ON CONFLICT DO NOTHING)?\s*$", RegexOptions.Singleline)]
    private static partial Regex InsertShape();

    // UPDATE t SET c = @p, … WHERE k = @q AND …: every assignment and every condition a column and a parameter of its own.
    [GeneratedRegex(@"^\s*UPDATE (\w+) SET (.+?)\s+WHERE (.+?)\s*$", RegexOptions.Singleline)]
    private static partial Regex UpdateShape();

    [GeneratedRegex(@"^(\w+)\s*=\s*(@\w+)$")]
    private static partial Regex ColumnIsParameter();

    [GeneratedRegex(@"^@\w+$")]
    private static partial Regex Parameter();

    // Keyed by (database, statement text): both bounded (the statements are constants in the code).
    private static readonly ConcurrentDictionary<(string Database, string Sql), MultiRowStatement?> Known = new();
    private static readonly ConcurrentDictionary<(string Database, string Table), IReadOnlyDictionary<string, string>> Columns = new();

    public string Sql { get; }
    private readonly Func<object?, object?>[] _converters;
    private readonly Func<int, Array>[] _arrays;
    /// <summary>An UPDATE's key: the positions of the values its WHERE matches rows by (empty for an INSERT).</summary>
    private readonly int[] _key;

    /// <summary>Whether <paramref name="sql"/> is an INSERT this class can join (what <see cref="IsInsert"/> says of a made one).</summary>
    public static bool IsInsertText(string sql) => InsertShape().IsMatch(sql);

    /// <summary>An INSERT (no key): rows of it from anywhere in a transaction may go as one statement.</summary>
    public bool IsInsert => _key.Length == 0;

    private MultiRowStatement(string sql, Func<int, Array>[] arrays, Func<object?, object?>[] converters, int[] key)
    {
        Sql = sql;
        _arrays = arrays;
        _converters = converters;
        _key = key;
    }

    public static async ValueTask<MultiRowStatement?> ForAsync(NpgsqlConnection connection, string sql)
    {
        var database = connection.Database;
        if (Known.TryGetValue((database, sql), out var known)) return known;
        var made = await MakeAsync(connection, database, sql);
        Known[(database, sql)] = made;
        return made;
    }

    private static async Task<MultiRowStatement?> MakeAsync(NpgsqlConnection connection, string database, string sql)
    {
        string table;
        string[] columns, parameters;
        var update = UpdateShape().Match(sql);
        var insert = update.Success ? null : InsertShape().Match(sql);
        var assignments = 0;
        if (insert is { Success: true })
        {
            table = insert.Groups[1].Value;
            columns = insert.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries);
            parameters = insert.Groups[3].Value.Split(',', StringSplitOptions.TrimEntries);
        }
        else if (update.Success)
        {
            table = update.Groups[1].Value;
            var set = update.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries);
            var where = Regex.Split(update.Groups[3].Value.Trim(), @"\s+AND\s+");
            var pairs = set.Concat(where).Select(p => ColumnIsParameter().Match(p)).ToList();
            if (!pairs.All(p => p.Success)) return null;
            columns = pairs.Select(p => p.Groups[1].Value).ToArray();
            parameters = pairs.Select(p => p.Groups[2].Value).ToArray();
            assignments = set.Length;
        }
        else return null;
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
        if (insert is { Success: true })
            return new MultiRowStatement($"INSERT INTO {table} ({string.Join(", ", columns)}) SELECT * FROM unnest({string.Join(", ", casts)}){insert.Groups[4].Value}",
                arrays, converters, []);
        // The arrays' columns are named by position (p1, p2, …): an UPDATE may both set and match one column.
        var sets = Enumerable.Range(0, assignments).Select(i => $"{columns[i]} = v.p{i + 1}");
        var conditions = Enumerable.Range(assignments, columns.Length - assignments).Select(i => $"t.{columns[i]} = v.p{i + 1}");
        var names = Enumerable.Range(1, columns.Length).Select(i => $"p{i}");
        return new MultiRowStatement(
            $"UPDATE {table} AS t SET {string.Join(", ", sets)} FROM unnest({string.Join(", ", casts)}) AS v({string.Join(", ", names)}) WHERE {string.Join(" AND ", conditions)}",
            arrays, converters, Enumerable.Range(assignments, columns.Length - assignments).ToArray());
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

    /// <summary>
    /// The statement for these rows (each row's values in column order), or null for an UPDATE that names one row
    /// twice: joined to its arrays, PostgreSQL would update that row once with either row's values, where the
    /// statements one a row apply both in order.
    /// </summary>
    public NpgsqlBatchCommand? Command(IReadOnlyList<object?[]> rows)
    {
        if (_key.Length > 0 && !KeysDistinct(rows)) return null;
        var command = new NpgsqlBatchCommand(Sql);
        for (var c = 0; c < _arrays.Length; c++)
        {
            var array = _arrays[c](rows.Count);
            for (var r = 0; r < rows.Count; r++) array.SetValue(_converters[c](rows[r][c]), r);
            command.Parameters.Add(new NpgsqlParameter { Value = array });
        }
        return command;
    }

    private bool KeysDistinct(IReadOnlyList<object?[]> rows)
    {
        var seen = new HashSet<string>(rows.Count, StringComparer.Ordinal);
        var key = new System.Text.StringBuilder();
        foreach (var row in rows)
        {
            key.Clear();
            // Each value with its length first, so no two different keys read the same.
            foreach (var k in _key)
            {
                var text = Convert.ToString(row[k], System.Globalization.CultureInfo.InvariantCulture) ?? "";
                key.Append(row[k] is null ? "n" : "v").Append(text.Length).Append(':').Append(text);
            }
            if (!seen.Add(key.ToString())) return false;
        }
        return true;
    }
}
