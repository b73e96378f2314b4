using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Kassa.Storage;

/// <summary>
/// One prepared SQLite statement run straight through SQLitePCLRaw, for the balance engine's row writes
/// (<see cref="RowWriter"/>): bind each value by its position, step, reset. Microsoft.Data.Sqlite looks
/// every parameter up by name on every execution (<c>sqlite3_bind_parameter_index</c>, a string compare per
/// parameter), builds a data reader and walks its statement list; measured on a hot <c>check</c>, that was
/// most of the writer's time per row and ~8 % of the server's CPU. The parameter positions are looked up once,
/// when the statement is prepared.
/// <para>
/// Values are stored exactly as Microsoft.Data.Sqlite stores them (a test compares the two byte for byte):
/// text as UTF-8, integers and booleans as INTEGER, a decimal as its invariant text. A row with a value of any
/// other type is not run here (<see cref="TryRun"/> answers null) and the caller runs it through Microsoft.Data.Sqlite.
/// </para>
/// </summary>
internal sealed class SqliteRowStatement : IDisposable
{
    // What Microsoft.Data.Sqlite's binder writes for a decimal (checked by SqliteRowStatementTests).
    private const string DecimalFormat = "0.0###########################";

    private readonly sqlite3_stmt _statement;
    private readonly int[] _positions;

    private SqliteRowStatement(sqlite3_stmt statement, int[] positions, string[] names)
    {
        _statement = statement;
        _positions = positions;
        Names = names;
    }

    /// <summary>The statement's parameters (without '@') in the order rows give values.</summary>
    public string[] Names { get; }

    /// <summary>Prepares <paramref name="sql"/>; <paramref name="names"/> are its parameters (without '@') in the order rows give values.</summary>
    public static SqliteRowStatement Prepare(sqlite3 db, string sql, IReadOnlyList<string> names)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement, out var tail);
        SqliteException.ThrowExceptionForRC(rc, db);
        if (!string.IsNullOrWhiteSpace(tail))
        {
            statement.Dispose();
            throw new InvalidOperationException("A row statement must be a single statement: " + sql);
        }
        var positions = new int[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            positions[i] = raw.sqlite3_bind_parameter_index(statement, "@" + names[i]);
            if (positions[i] == 0)
            {
                statement.Dispose();
                throw new InvalidOperationException($"Parameter @{names[i]} is not in: {sql}");
            }
        }
        return new SqliteRowStatement(statement, positions, [.. names]);
    }

    /// <summary>
    /// Runs the statement for one row, answering the rows it changed (<c>sqlite3_changes</c>: an
    /// <c>INSERT … ON CONFLICT DO NOTHING</c> answers 1 when it stored the row, 0 when the key was taken).
    /// Null, with nothing done, when the database is busy or locked, or when a value is of a type not bound
    /// here: the caller runs the row through Microsoft.Data.Sqlite, whose command waits and retries.
    /// </summary>
    public int? TryRun(sqlite3 db, object?[] values)
    {
        try
        {
            // A value of a type not bound here is found while binding, before the step: the row is then left
            // to Microsoft.Data.Sqlite, as for a busy database.
            if (!BindAll(db, values)) return null;
            var rc = raw.sqlite3_step(_statement);
            if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED) return null;
            if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW) SqliteException.ThrowExceptionForRC(rc, db);
            return raw.sqlite3_changes(db);
        }
        finally
        {
            // A statement left unreset would keep the transaction from committing; the bindings are all
            // overwritten by the next row.
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>
    /// Runs the statement as a query and reads every row it answers with <paramref name="read"/> (the row as a
    /// <see cref="SqliteRawReader"/>). Null, with nothing read, when the database is busy or locked at the first
    /// step or a value is of a type not bound here: the caller then runs the query through Microsoft.Data.Sqlite.
    /// </summary>
    public List<T>? TryQuery<T>(sqlite3 db, object?[] values, Func<DbDataReader, T> read)
    {
        try
        {
            if (!BindAll(db, values)) return null;
            var rows = new List<T>();
            _reader ??= new SqliteRawReader(_statement);
            while (true)
            {
                var rc = raw.sqlite3_step(_statement);
                if (rc == raw.SQLITE_ROW)
                {
                    rows.Add(read(_reader));
                    continue;
                }
                if (rc == raw.SQLITE_DONE) return rows;
                if (rows.Count == 0 && rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED) return null;
                SqliteException.ThrowExceptionForRC(rc, db);
            }
        }
        finally
        {
            // Reset ends the statement's read: a kept reader connection must not hold a snapshot (ADR 0012).
            raw.sqlite3_reset(_statement);
        }
    }

    private SqliteRawReader? _reader;

    /// <summary>Binds every value at its parameter's position; false at the first value of a type not bound here.</summary>
    private bool BindAll(sqlite3 db, object?[] values)
    {
        for (var i = 0; i < _positions.Length; i++)
        {
            if (!Bind(db, _positions[i], values[i])) return false;
        }
        return true;
    }

    private bool Bind(sqlite3 db, int position, object? value)
    {
        var rc = value switch
        {
            string s => BindText(position, s),
            long l => raw.sqlite3_bind_int64(_statement, position, l),
            null or DBNull => raw.sqlite3_bind_null(_statement, position),
            int n => raw.sqlite3_bind_int64(_statement, position, n),
            bool b => raw.sqlite3_bind_int64(_statement, position, b ? 1 : 0),
            decimal d => raw.sqlite3_bind_text(_statement, position, d.ToString(DecimalFormat, CultureInfo.InvariantCulture)),
            _ => -1,
        };
        if (rc == -1) return false;
        SqliteException.ThrowExceptionForRC(rc, db);
        return true;
    }

    // Encoded into a buffer the statement keeps, not a new array per value (SQLitePCLRaw's string overload
    // allocates one): the roller binds several strings per row, hundreds of thousands of rows a second. The
    // same encoder as Microsoft.Data.Sqlite's, so the same bytes; SQLite copies them (SQLITE_TRANSIENT).
    private byte[] _text = new byte[256];

    private int BindText(int position, string s)
    {
        // An empty span would reach SQLite as a null pointer, which binds NULL rather than ''.
        if (s.Length == 0) return raw.sqlite3_bind_text(_statement, position, s);
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max > _text.Length) _text = new byte[Math.Max(max, _text.Length * 2)];
        var length = System.Text.Encoding.UTF8.GetBytes(s, _text);
        return raw.sqlite3_bind_text(_statement, position, new ReadOnlySpan<byte>(_text, 0, length));
    }

    public void Dispose() => _statement.Dispose();
}
