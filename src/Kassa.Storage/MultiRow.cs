using System.Data.Common;
using System.Text;
using Dapper;

namespace Kassa.Storage;

/// <summary>
/// Multi-row INSERT: one statement per chunk instead of one per row, which is what lets a batch of a
/// thousand operations write its rows in a handful of round trips. Chunks stay under both engines'
/// parameter limits (SQLite 32,766; PostgreSQL 65,535).
/// </summary>
internal static class MultiRow
{
    public const int ParametersPerStatementMax = 30_000;

    public static async Task InsertAsync<T>(DbConnection connection, DbTransaction? tx, string table, string[] columns, IReadOnlyList<T> rows,
        Func<T, object?[]> values, string suffix = "")
    {
        var rowsPerChunk = Math.Max(1, ParametersPerStatementMax / columns.Length);
        for (var start = 0; start < rows.Count; start += rowsPerChunk)
        {
            var count = Math.Min(rowsPerChunk, rows.Count - start);
            var sql = new StringBuilder($"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ");
            var args = new DynamicParameters();
            for (var r = 0; r < count; r++)
            {
                var v = values(rows[start + r]);
                sql.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Length; c++)
                {
                    var name = $"p{r}_{c}";
                    sql.Append(c == 0 ? "@" : ", @").Append(name);
                    args.Add(name, v[c]);
                }
                sql.Append(')');
            }
            sql.Append(suffix);
            await connection.ExecuteAsync(sql.ToString(), args, tx);
        }
    }
}
