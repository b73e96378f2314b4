using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Kassa.Storage;

/// <summary>
/// A SQLite connection that keeps its statements prepared for the length of one session. Microsoft.Data.Sqlite
/// keeps a statement compiled only inside one <see cref="SqliteCommand"/> object, and Dapper makes a new
/// command for every call, so every statement used to be parsed and planned again each time it ran:
/// measured on the renewal run, compiling SQL was about 40 % of its CPU. This wrapper hands Dapper
/// commands that, when executed, borrow an already prepared <see cref="SqliteCommand"/> for the same text
/// (made on first use) and give it back afterwards — for a reader, when the reader is disposed. A batch
/// that runs the same statements for fifty renewals compiles each of them once; the store's writer keeps one
/// cache for its long-lived connection, so its statements stay prepared across transactions too. At most
/// <see cref="StatementsMax"/> texts are kept (past it the cache starts over). SQLite finalizes the
/// statements when the connection is closed.
/// </summary>
internal sealed class SqliteStatementCache(SqliteConnection inner) : DbConnection
{
    public const int StatementsMax = 256;

    private readonly Dictionary<string, Stack<SqliteCommand>> _idle = new(StringComparer.Ordinal);

    public SqliteConnection Inner { get; } = inner;

    /// <summary>
    /// A diagnostic for performance work: with <c>KASSA_SQL_STATS=&lt;file&gt;</c> set, every statement
    /// run through the cache is counted by its text and the counts are written to that file when the
    /// process exits (how ADR 0008 counted a renewal's statements). Off, it costs one null check.
    /// </summary>
    internal static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int>? Stats =
        Environment.GetEnvironmentVariable("KASSA_SQL_STATS") is { Length: > 0 } ? new() : null;

    static SqliteStatementCache()
    {
        if (Stats is null) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.WriteAllLines(Environment.GetEnvironmentVariable("KASSA_SQL_STATS")!,
            Stats.OrderByDescending(x => x.Value).Select(x => x.Value + "\t" + x.Key.ReplaceLineEndings(" ")));
    }

    private readonly Dictionary<string, SqliteRowStatement> _rows = new(StringComparer.Ordinal);

    /// <summary>
    /// The same statements by the identity of the text they were asked for with: the store's texts are static or
    /// cached instances, so most lookups end here without hashing and comparing a text of several hundred characters
    /// twice (here and in <see cref="PositionalSql"/>): ~2 µs of a read-only check's read session. A text built anew
    /// on each call misses and is added once more, so the map is bounded apart and starts over when full.
    /// </summary>
    private readonly Dictionary<string, SqliteRowStatement> _rowsByInstance = new(ReferenceEqualityComparer.Instance);

    private const int InstancesMax = 4 * StatementsMax;

    /// <summary>
    /// Runs a statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT …) through its kept prepared statement;
    /// false when the database was busy (the caller then runs it another way or fails).
    /// </summary>
    internal bool TryRun(string sql) => RowStatement(sql).TryRun(Inner.Handle!, []) is not null;

    /// <summary>
    /// The connection's raw prepared statement for a row write (<see cref="RowWriter"/>) or a raw query, made on first
    /// use and kept like the commands; its <see cref="SqliteRowStatement.Names"/> are its parameters in the order rows give values.
    /// </summary>
    internal SqliteRowStatement RowStatement(string sql)
    {
        if (_rowsByInstance.TryGetValue(sql, out var same)) return same;
        if (!_rows.TryGetValue(sql, out var kept))
        {
            if (_rows.Count >= StatementsMax) DisposeRows();
            kept = SqliteRowStatement.Prepare(Inner.Handle!, sql, PositionalSql.For(sql).Names);
            _rows[sql] = kept;
        }
        if (_rowsByInstance.Count >= InstancesMax) _rowsByInstance.Clear();
        _rowsByInstance[sql] = kept;
        return kept;
    }

    /// <summary>
    /// Runs a query through the connection's raw prepared statement for <paramref name="sql"/> (made on first use
    /// and kept like a row write's) with the named <paramref name="args"/>; null when it could not run there
    /// (<see cref="SqliteRowStatement.TryQuery{T}"/>). Microsoft.Data.Sqlite's reader costs about as much as
    /// SQLite's own work on a few dozen short rows: the balance writer's loads (ADR 0019).
    /// </summary>
    internal List<T>? TryQuery<T>(string sql, Func<DbDataReader, T> read, params ReadOnlySpan<(string Name, object? Value)> args)
    {
        if (Stats is not null) Stats.AddOrUpdate(sql, 1, (_, n) => n + 1);
        var statement = RowStatement(sql);
        var names = statement.Names;
        var values = new object?[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var found = false;
            foreach (var (name, value) in args)
            {
                if (name != names[i]) continue;
                values[i] = value;
                found = true;
                break;
            }
            if (!found) throw new InvalidOperationException($"No value for @{names[i]} in: {sql}");
        }
        return statement.TryQuery(Inner.Handle!, values, read);
    }

    internal SqliteCommand Rent(string sql)
    {
        if (_idle.TryGetValue(sql, out var idle) && idle.Count > 0) return idle.Pop();
        var command = Inner.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    /// <summary>Finalizes every kept statement (before the connection is closed for good).</summary>
    internal void DisposeStatements()
    {
        foreach (var idle in _idle.Values)
        {
            while (idle.Count > 0) idle.Pop().Dispose();
        }
        _idle.Clear();
        DisposeRows();
    }

    private void DisposeRows()
    {
        foreach (var row in _rows.Values) row.Dispose();
        _rows.Clear();
        // Never hand out a finalized statement by its text's identity.
        _rowsByInstance.Clear();
    }

    internal void Return(SqliteCommand command)
    {
        command.Parameters.Clear();
        command.Transaction = null;
        if (!_idle.TryGetValue(command.CommandText, out var idle))
        {
            // Full: start over rather than refuse, so that on the store's long-lived writer connection texts
            // seen late (or a burst of varying ones) cannot be locked out for good by those seen first.
            if (_idle.Count >= StatementsMax) DisposeStatements();
            idle = new Stack<SqliteCommand>();
            _idle[command.CommandText] = idle;
        }
        idle.Push(command);
    }

    [AllowNull]
    public override string ConnectionString
    {
        get => Inner.ConnectionString;
        set => throw new NotSupportedException("The session's connection is already open");
    }

    public override string Database => Inner.Database;
    public override string DataSource => Inner.DataSource;
    public override string ServerVersion => Inner.ServerVersion;
    public override ConnectionState State => Inner.State;
    public override void ChangeDatabase(string databaseName) => Inner.ChangeDatabase(databaseName);
    public override void Close() => Inner.Close();
    public override void Open() => Inner.Open();
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => Inner.BeginTransaction(isolationLevel);
    protected override DbCommand CreateDbCommand() => new CachedCommand(this);

    /// <summary>What Dapper fills in (text, transaction, parameters); executing it runs a borrowed prepared command.</summary>
    private sealed class CachedCommand(SqliteStatementCache owner) : DbCommand
    {
        // Holds the parameters Dapper adds; never executed itself.
        private readonly SqliteCommand _holder = new();

        [AllowNull]
        public override string CommandText { get; set; } = "";
        public override int CommandTimeout { get; set; } = 30;
        public override CommandType CommandType { get; set; } = CommandType.Text;
        public override bool DesignTimeVisible { get; set; }
        public override UpdateRowSource UpdatedRowSource { get; set; }
        protected override DbConnection? DbConnection { get => owner; set { } }
        protected override DbParameterCollection DbParameterCollection => _holder.Parameters;
        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel() { }
        public override void Prepare() { }
        protected override DbParameter CreateDbParameter() => _holder.CreateParameter();

        private SqliteCommand Borrow()
        {
            var command = owner.Rent(CommandText);
            command.Transaction = (SqliteTransaction?)DbTransaction;
            command.CommandTimeout = CommandTimeout;
            // The very parameter objects Dapper made (a collection does not own its parameters), so a type
            // Dapper set and one left to the value bind exactly as they would on a command of their own.
            foreach (SqliteParameter p in _holder.Parameters)
            {
                // Dapper names parameters without the '@': Microsoft.Data.Sqlite then looks each one up under
                // the bare name and again under every prefix (a UTF-8 copy and a statement scan each time),
                // which was a fifth of a renewal's time. The SQL here always writes '@name'.
                if (p.ParameterName is { Length: > 0 } name && name[0] is not ('@' or '$' or ':')) p.ParameterName = "@" + name;
                command.Parameters.Add(p);
            }
            if (Stats is not null) Stats.AddOrUpdate(CommandText, 1, (_, n) => n + 1);
            return command;
        }

        public override int ExecuteNonQuery()
        {
            var command = Borrow();
            try
            {
                return command.ExecuteNonQuery();
            }
            finally
            {
                owner.Return(command);
            }
        }

        public override object? ExecuteScalar()
        {
            var command = Borrow();
            try
            {
                return command.ExecuteScalar();
            }
            finally
            {
                owner.Return(command);
            }
        }

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        {
            var command = Borrow();
            try
            {
                return new ReturningReader(command.ExecuteReader(behavior), () => owner.Return(command));
            }
            catch
            {
                owner.Return(command);
                throw;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _holder.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A reader that gives its command back to the cache once it is closed.</summary>
    private sealed class ReturningReader(SqliteDataReader inner, Action onClose) : DbDataReader
    {
        private bool _returned;

        public override object this[int ordinal] => inner[ordinal];
        public override object this[string name] => inner[name];
        public override int Depth => inner.Depth;
        public override int FieldCount => inner.FieldCount;
        public override bool HasRows => inner.HasRows;
        public override bool IsClosed => inner.IsClosed;
        public override int RecordsAffected => inner.RecordsAffected;
        public override bool GetBoolean(int ordinal) => inner.GetBoolean(ordinal);
        public override byte GetByte(int ordinal) => inner.GetByte(ordinal);
        public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => inner.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);
        public override char GetChar(int ordinal) => inner.GetChar(ordinal);
        public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => inner.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);
        public override string GetDataTypeName(int ordinal) => inner.GetDataTypeName(ordinal);
        public override DateTime GetDateTime(int ordinal) => inner.GetDateTime(ordinal);
        public override decimal GetDecimal(int ordinal) => inner.GetDecimal(ordinal);
        public override double GetDouble(int ordinal) => inner.GetDouble(ordinal);
        public override IEnumerator GetEnumerator() => ((IEnumerable)inner).GetEnumerator();
        public override Type GetFieldType(int ordinal) => inner.GetFieldType(ordinal);
        public override T GetFieldValue<T>(int ordinal) => inner.GetFieldValue<T>(ordinal);
        public override float GetFloat(int ordinal) => inner.GetFloat(ordinal);
        public override Guid GetGuid(int ordinal) => inner.GetGuid(ordinal);
        public override short GetInt16(int ordinal) => inner.GetInt16(ordinal);
        public override int GetInt32(int ordinal) => inner.GetInt32(ordinal);
        public override long GetInt64(int ordinal) => inner.GetInt64(ordinal);
        public override string GetName(int ordinal) => inner.GetName(ordinal);
        public override int GetOrdinal(string name) => inner.GetOrdinal(name);
        public override Stream GetStream(int ordinal) => inner.GetStream(ordinal);
        public override string GetString(int ordinal) => inner.GetString(ordinal);
        public override object GetValue(int ordinal) => inner.GetValue(ordinal);
        public override int GetValues(object[] values) => inner.GetValues(values);
        public override bool IsDBNull(int ordinal) => inner.IsDBNull(ordinal);
        public override bool NextResult() => inner.NextResult();
        public override bool Read() => inner.Read();
        public override DataTable? GetSchemaTable() => inner.GetSchemaTable();

        public override void Close()
        {
            inner.Close();
            GiveBack();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                GiveBack();
            }
            base.Dispose(disposing);
        }

        private void GiveBack()
        {
            if (_returned) return;
            _returned = true;
            onClose();
        }
    }
}
