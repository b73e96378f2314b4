using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace Kassa.Storage;

/// <summary>
/// The connection a PostgreSQL write session hands to Dapper (<see cref="SqlSession.Connection"/>): every statement
/// run through it takes the session's held statements (a savepoint not yet sent, deferred writes, the lock
/// timeout, the group-commit marker; <see cref="SqlSession.SendWithNextWrites"/>) along in front of it, in the same
/// round trip. So a held savepoint or write always reaches the server before any later statement of the
/// transaction — a read sees every earlier write, and a write lands inside the savepoint that was opened before it
/// — without a round trip of its own (ADR 0022).
/// </summary>
internal static class HeldFirst
{
    /// <summary>
    /// Named <c>NpgsqlConnection</c> on purpose: Dapper passes a .NET array as one PostgreSQL array parameter
    /// (what <c>= ANY(@ids)</c> needs) only for a connection whose type is named so; any other name and it
    /// expands the array into a list of parameters. Everything else is the wrapped driver connection's.
    /// </summary>
    internal sealed class NpgsqlConnection(Npgsql.NpgsqlConnection inner, SqlSession session) : DbConnection
    {
        [AllowNull]
        public override string ConnectionString
        {
            get => inner.ConnectionString;
            set => inner.ConnectionString = value;
        }

        public override string Database => inner.Database;
        public override string DataSource => inner.DataSource;
        public override string ServerVersion => inner.ServerVersion;
        public override ConnectionState State => inner.State;
        public override void ChangeDatabase(string databaseName) => inner.ChangeDatabase(databaseName);
        public override void Close() => inner.Close();
        public override void Open() => inner.Open();
        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => inner.BeginTransaction(isolationLevel);
        protected override DbCommand CreateDbCommand() => new Command(inner.CreateCommand(), this, session);
    }

    private sealed class Command(Npgsql.NpgsqlCommand inner, DbConnection owner, SqlSession session) : DbCommand
    {
        [AllowNull]
        public override string CommandText
        {
            get => inner.CommandText;
            set => inner.CommandText = value;
        }

        public override int CommandTimeout { get => inner.CommandTimeout; set => inner.CommandTimeout = value; }
        public override CommandType CommandType { get => inner.CommandType; set => inner.CommandType = value; }
        public override bool DesignTimeVisible { get => inner.DesignTimeVisible; set => inner.DesignTimeVisible = value; }
        public override UpdateRowSource UpdatedRowSource { get => inner.UpdatedRowSource; set => inner.UpdatedRowSource = value; }
        protected override DbConnection? DbConnection { get => owner; set { } }
        protected override DbParameterCollection DbParameterCollection => inner.Parameters;

        protected override DbTransaction? DbTransaction
        {
            get => inner.Transaction;
            set => inner.Transaction = (Npgsql.NpgsqlTransaction?)value;
        }

        public override void Cancel() => inner.Cancel();
        public override void Prepare() => inner.Prepare();
        protected override DbParameter CreateDbParameter() => inner.CreateParameter();

        // The store runs its statements asynchronously; the synchronous forms send what is held on its own first.
        public override int ExecuteNonQuery()
        {
            session.SendHeld();
            return inner.ExecuteNonQuery();
        }

        public override object? ExecuteScalar()
        {
            session.SendHeld();
            return inner.ExecuteScalar();
        }

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        {
            session.SendHeld();
            return inner.ExecuteReader(behavior);
        }

        public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
        {
            if (await TogetherAsync() is not { } batch) return await inner.ExecuteNonQueryAsync(cancellationToken);
            await using (batch)
            {
                await session.RunHeldAsync(batch, b => b.ExecuteNonQueryAsync(cancellationToken));
                // The statement's own count (the batch's total adds the held statements' rows).
                return batch.BatchCommands[^1].RecordsAffected;
            }
        }

        public override async Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken)
        {
            if (await TogetherAsync() is not { } batch) return await inner.ExecuteScalarAsync(cancellationToken);
            await using (batch) return await session.RunHeldAsync(batch, b => b.ExecuteScalarAsync(cancellationToken));
        }

        protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
        {
            if (await TogetherAsync() is not { } batch) return await inner.ExecuteReaderAsync(behavior, cancellationToken);
            // The reader owns the batch from here (disposing the reader is enough; the batch holds no other resource).
            // SingleRow and SingleResult would apply to the held statements' results too; the caller reads one row anyway.
            var together = behavior & ~(CommandBehavior.SingleRow | CommandBehavior.SingleResult);
            return await session.RunHeldAsync(batch, b => b.ExecuteReaderAsync(together, cancellationToken));
        }

        /// <summary>
        /// The held statements and this one as one batch, or null when nothing is held or this statement cannot ride
        /// in a batch (several statements in one text): the held ones are then sent first, in a round trip of their own.
        /// </summary>
        private async ValueTask<Npgsql.NpgsqlBatch?> TogetherAsync()
        {
            if (!session.HasHeld) return null;
            if (inner.CommandType != CommandType.Text || HasSeveralStatements(inner.CommandText))
            {
                await session.SendHeldAsync();
                return null;
            }
            var command = new Npgsql.NpgsqlBatchCommand(inner.CommandText);
            // A parameter belongs to one collection: moved, not copied (this command runs once).
            var parameters = inner.Parameters.ToList();
            inner.Parameters.Clear();
            foreach (var p in parameters) command.Parameters.Add(p);
            var batch = session.TakeHeld();
            batch.BatchCommands.Add(command);
            return batch;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Whether a text holds more than one statement (a semicolon followed by anything but blanks). A semicolon inside a
    /// quoted literal counts too: the store's texts have none, and a false positive only costs a round trip.
    /// </summary>
    internal static bool HasSeveralStatements(string sql)
    {
        var at = sql.IndexOf(';');
        return at >= 0 && !sql.AsSpan(at + 1).IsWhiteSpace();
    }
}
