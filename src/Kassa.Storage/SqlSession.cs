using System.Data.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>What differs between the engines in otherwise shared SQL.</summary>
internal sealed record SqlDialect(string Engine, bool IsPostgres)
{
    /// <summary>Row locking for read-modify-write; SQLite needs none (one writer holds the database).</summary>
    public string ForUpdate => IsPostgres ? " FOR UPDATE" : "";

    /// <summary>
    /// A boolean column's condition written the way its partial index's WHERE clause is written. A planner
    /// uses a partial index only when the query's own text implies the index's condition: <c>paused = @no</c>
    /// implies nothing about <c>paused = 0</c> until the parameter is bound, so SQLite scanned the whole
    /// table instead (every renewal chunk read all subscriptions: quadratic in their number).
    /// </summary>
    public string IsFalse(string column) => IsPostgres ? $"NOT {column}" : $"{column} = 0";

    /// <inheritdoc cref="IsFalse"/>
    public string IsTrue(string column) => IsPostgres ? column : $"{column} = 1";
}

/// <summary>
/// The connection and transaction behind a session, for tests and tools that must reach the database
/// directly (e.g. to plant rows a later capability will own). Application code uses the ports.
/// </summary>
public interface ISqlAccess
{
    DbConnection Connection { get; }
    DbTransaction? Transaction { get; }
}

/// <summary>One transaction (or one read connection) and the data areas that run on it.</summary>
internal sealed partial class SqlSession : IStoreSession, ISqlAccess, ISavepoints
{
    /// <param name="statements">A SQLite connection's statement cache, which outlives the session: the store keeps
    /// its writer and reader connections open with theirs (ADR 0011, ADR 0012). Null for PostgreSQL.</param>
    /// <param name="balanceMemory">The store's balance writer memory, for a SQLite main-file write session (ADR 0021).</param>
    public SqlSession(DbConnection connection, DbTransaction? transaction, SqlDialect dialect, SqliteStatementCache? statements = null,
        Kassa.Engine.Balances.BalanceCache? balanceMemory = null)
    {
        BalanceMemory = balanceMemory;
        Native = connection;
        // SQLite statements stay prepared in the connection's cache (see SqliteStatementCache); PostgreSQL's own
        // driver keeps its statements.
        // A PostgreSQL write session's statements go through HeldFirst, which sends what the session holds in front
        // of each (ADR 0022); a read session holds nothing.
        Connection = statements
            ?? (transaction is not null && connection is Npgsql.NpgsqlConnection pg ? new HeldFirst.NpgsqlConnection(pg, this) : connection);
        Transaction = transaction;
        Dialect = dialect;
        Accounts = new SqlAccounts(this);
        ApiKeys = new SqlApiKeys(this);
        Customers = _customers = new SqlCustomers(this);
        Audit = new SqlAudit(this);
        Idempotency = new SqlIdempotency(this);
        Events = new SqlEvents(this);
        Webhooks = new SqlWebhooks(this);
        Catalog = _catalog = new SqlCatalog(this);
        Balances = _balances = new SqlBalances(this);
        Subscriptions = new SqlSubscriptions(this);
        TestClocks = new SqlTestClocks(this);
        Entities = new SqlEntities(this);
        TopUps = new SqlTopUps(this);
        SpendCaps = new SqlSpendCaps(this);
        Metering = new SqlMetering(this);
        GroupCommits = new SqlGroupCommits(this);
        Backlog = new SqlBacklog(this);
        Invoices = new SqlInvoices(this);
        Ledger = new SqlLedger(this);
        Payments = new SqlPayments(this);
        Coupons = new SqlCoupons(this);
        TaxRates = new SqlTaxRates(this);
        CustomerCredit = new SqlCustomerCredit(this);
        CreditNotes = new SqlCreditNotes(this);
        Meta = new SqlKassaMeta(this);
        UsageBilling = new SqlUsageBilling(this);
        ClockBalances = new SqlClockBalances(this);
        Providers = new SqlProviders(this);
        ProviderEvents = new SqlProviderEvents(this);
        Disputes = new SqlDisputes(this);
        Checkout = new SqlCheckout(this);
    }

    public DbConnection Connection { get; }

    private readonly SqlCatalog _catalog;
    private readonly SqlCustomers _customers;
    private readonly SqlBalances _balances;

    public async Task SavepointAsync(string name)
    {
        if (Dialect.IsPostgres)
        {
            // Held, not sent (ADR 0022): it rides in front of the request's first statement, or with the batch's
            // COMMIT when the request sends none (its reads answered by what the batch read ahead, its writes held);
            // a request rolled back before anything went drops it unsent. Earlier held statements stay in front of it,
            // so a rollback to it can never take them back.
            Pending.Mark();
            _heldAtSavepoint = _sendWithNextWrites.Count;
            SendWithNextWrites(new Npgsql.NpgsqlBatchCommand(SavepointTexts(name).Open));
            _savepointHeld = true;
            return;
        }
        if (!TryRunRaw(SavepointTexts(name).Open)) await Dapper.SqlMapper.ExecuteAsync(Connection, $"SAVEPOINT {name}", transaction: Transaction);
        Pending.Mark();
    }

    /// <summary>
    /// SQLite: runs a statement without parameters or rows through the connection's kept prepared statements
    /// (SqliteStatementCache), as a savepoint is opened and released for every request of a mutation batch:
    /// through Dapper each was a fresh command prepared from its text (~7 % of a grant's writer time). False
    /// when it could not run there (PostgreSQL, or a busy database: the caller runs it through Dapper).
    /// </summary>
    private bool TryRunRaw(string sql) => Connection is SqliteStatementCache cache && cache.TryRun(sql);

    /// <summary>The savepoint statements of a name, built once per name (the batcher uses one) so the statement cache finds them by identity.</summary>
    private static (string Open, string Release) SavepointTexts(string name) =>
        SavepointTextsByName.TryGetValue(name, out var texts) ? texts
        // Bounded: names are the code's constants; past the bound a name's texts are built each time.
        : SavepointTextsByName.Count < 64 ? SavepointTextsByName.GetOrAdd(name, BuildSavepointTexts) : BuildSavepointTexts(name);

    private static (string Open, string Release) BuildSavepointTexts(string name) => ($"SAVEPOINT {name}", $"RELEASE SAVEPOINT {name}");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Open, string Release)> SavepointTextsByName = new(StringComparer.Ordinal);

    // PostgreSQL statements that must run in this transaction but whose answer nobody waits for (a savepoint, the
    // group-commit marker, the lock timeout, a deferred write: IBalanceStore.WriteTogetherAsync and
    // ICustomerStore.UpdateAsync): sent in front of the session's next statement (HeldFirst, RunHeldAsync), or with
    // the flush before COMMIT, instead of in a round trip of their own. One that fails there fails the transaction
    // (RollbackToAsync then refuses), and the mutation batcher runs each request alone.
    private readonly List<Npgsql.NpgsqlBatchCommand> _sendWithNextWrites = [];

    /// <summary>
    /// Most statements held at once. A request holds a handful and its first statement or the commit sends them,
    /// so this is reached only by a batch of requests that send nothing: the transaction then fails (and its
    /// requests run alone) rather than grow without bound.
    /// </summary>
    internal const int HeldMax = 1_000;

    // How many held statements predate the current savepoint (RollbackToAsync keeps those), and whether the savepoint
    // itself is still among them (then a rollback to it needs no statement: nothing after it reached the server).
    private int _heldAtSavepoint;
    private bool _savepointHeld;

    // A held statement failed: the transaction is aborted past any savepoint this session could name.
    private bool _heldFailed;

    /// <summary>Holds <paramref name="command"/> (PostgreSQL only) until the session's next statement or its commit.</summary>
    internal void SendWithNextWrites(Npgsql.NpgsqlBatchCommand command)
    {
        if (_sendWithNextWrites.Count >= HeldMax) throw new InvalidOperationException($"More than {HeldMax} statements held for the next round trip");
        _sendWithNextWrites.Add(command);
    }

    internal bool HasHeld => _sendWithNextWrites.Count > 0;

    /// <summary>
    /// Holds a one-row statement written with <c>@name</c> parameters (<see cref="SendWithNextWrites"/>). Held rows of
    /// one statement that end up next to each other when the transaction commits go as one statement over arrays
    /// (<see cref="MultiRowStatement"/>): a batch of customer updates is one UPDATE.
    /// </summary>
    internal void HoldRow(string sql, IReadOnlyDictionary<string, object?> args)
    {
        var command = Positional(sql, args);
        SendWithNextWrites(command);
        _heldRows[command] = sql;
    }

    // The held commands HoldRow made, with their statement's text (the command's parameters are the row's values in
    // the order of first use, which is MultiRowStatement's column order). Emptied whenever the held statements go.
    private readonly Dictionary<Npgsql.NpgsqlBatchCommand, string> _heldRows = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Marks a one-row command <see cref="RowWriter"/> holds for the commit as a row of <paramref name="sql"/> (an INSERT
    /// written with <c>@name</c> parameters), so <see cref="JoinHeldRowsAsync"/> may join it with the other requests' rows.
    /// </summary>
    internal void KnowHeldRow(Npgsql.NpgsqlBatchCommand command, string sql) => _heldRows[command] = sql;

    private static long s_heldRowsJoined;

    /// <summary>Held rows sent joined into statements over arrays, process-wide (for tests and diagnostics).</summary>
    internal static long HeldRowsJoined => Interlocked.Read(ref s_heldRowsJoined);

    /// <summary>Held rows this session sent joined into statements over arrays (tests: unlike the process-wide count, no other test moves it).</summary>
    internal long RowsJoined { get; private set; }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex WrittenTable();

    /// <summary>The table a held statement writes; "" for one that writes none (SET LOCAL); null when unknown (a barrier).</summary>
    private static string? TableWritten(string text)
    {
        if (WrittenTable().Match(text) is { Success: true } m) return m.Groups[1].Value;
        return text.StartsWith("SET LOCAL ", StringComparison.Ordinal) ? "" : null;
    }

    /// <summary>
    /// Joins the held rows of one statement into one statement over arrays (<see cref="MultiRowStatement"/>). Rows of
    /// an INSERT join at the place of the first of them even when other statements lie between, as long as none of
    /// those writes the same table (or is one whose table is unknown, such as a savepoint): the rows move earlier only
    /// past writes to other tables, which they do not depend on (no foreign keys, and the one trigger, on events,
    /// writes only the event queue). The held grants of a batch (bucket, credit movement) are then one statement per
    /// table, not one a row. Rows of an UPDATE join only when adjacent: two may name one row, whose order matters.
    /// <paramref name="held"/> is the statements held for the next round trip, or the rows a deferred write holds
    /// (<see cref="DeferredRowWrites"/>: the commit's outbox events, audit records and journal lines), joined each in place.
    /// </summary>
    private async Task JoinHeldRowsAsync(IList<Npgsql.NpgsqlBatchCommand> held)
    {
        if (_heldRows.Count < 2) return;
        // Each output slot is a held statement, or a group of held rows of one statement (joined at the end).
        var slots = new List<(Npgsql.NpgsqlBatchCommand? Command, string? Sql, List<Npgsql.NpgsqlBatchCommand>? Rows)>(held.Count);
        // An INSERT → its group's slot and table, while rows may still join it.
        var open = new Dictionary<string, (int Slot, string Table)>(StringComparer.Ordinal);
        int? adjacent = null;  // the slot of the last UPDATE group: only the next statement may join it
        foreach (var command in held)
        {
            if (_heldRows.TryGetValue(command, out var sql))
            {
                if (open.TryGetValue(sql, out var group))
                {
                    slots[group.Slot].Rows!.Add(command);
                    continue;
                }
                if (adjacent is { } a && string.Equals(slots[a].Sql, sql, StringComparison.Ordinal))
                {
                    slots[a].Rows!.Add(command);
                    continue;
                }
            }
            // Not joined: whatever it writes closes the groups it could reorder against.
            var table = TableWritten(command.CommandText);
            foreach (var (other, group) in open)
            {
                // (Removing the entry being enumerated is allowed.)
                if (table is null || (table.Length > 0 && string.Equals(table, group.Table, StringComparison.OrdinalIgnoreCase))) open.Remove(other);
            }
            adjacent = null;
            if (sql is not null)
            {
                slots.Add((null, sql, [command]));
                if (MultiRowStatement.IsInsertText(sql) && TableWritten(sql) is { Length: > 0 } written) open[sql] = (slots.Count - 1, written);
                else adjacent = slots.Count - 1;
            }
            else slots.Add((command, null, null));
        }
        var joined = new List<Npgsql.NpgsqlBatchCommand>(slots.Count);
        foreach (var (command, sql, rows) in slots)
        {
            if (command is not null)
            {
                joined.Add(command);
                continue;
            }
            // One row, a statement MultiRowStatement cannot join, or rows naming one row twice (kept in order only as one statement a row): as held.
            if (rows!.Count > 1 && await MultiRowStatement.ForAsync((Npgsql.NpgsqlConnection)Native, sql!) is { } multi
                && multi.Command(rows.Select(c => c.Parameters.Select(p => p.Value is DBNull ? null : p.Value).ToArray()).ToList()) is { } together)
            {
                joined.Add(together);
                Interlocked.Add(ref s_heldRowsJoined, rows.Count);
                RowsJoined += rows.Count;
            }
            else joined.AddRange(rows);
        }
        held.Clear();
        foreach (var command in joined) held.Add(command);
    }

    /// <summary>A batch of the held statements, which count as sent from here on (the caller adds its own and runs it through <see cref="RunHeldAsync{T}"/>).</summary>
    internal Npgsql.NpgsqlBatch TakeHeld()
    {
        var batch = new Npgsql.NpgsqlBatch((Npgsql.NpgsqlConnection)Native, (Npgsql.NpgsqlTransaction?)Transaction);
        PutHeldFirst(batch);
        return batch;
    }

    /// <summary>Puts the held statements in front of <paramref name="batch"/>'s own; they count as sent from here on.</summary>
    internal void PutHeldFirst(Npgsql.NpgsqlBatch batch)
    {
        for (var i = _sendWithNextWrites.Count - 1; i >= 0; i--) batch.BatchCommands.Insert(0, _sendWithNextWrites[i]);
        _heldInFlight = _sendWithNextWrites.Count;
        _sendWithNextWrites.Clear();
        _heldRows.Clear();
        _heldAtSavepoint = 0;
        _savepointHeld = false;
    }

    // How many statements at the front of the batch being run were held ones (RunHeldAsync tells whose failure it was).
    private int _heldInFlight;

    /// <summary>
    /// Runs a batch that <see cref="PutHeldFirst"/> or <see cref="TakeHeld"/> filled. A failure of one of the held
    /// statements marks the transaction as lost (<see cref="RollbackToAsync"/> then refuses: the savepoint it would
    /// name may not exist, or would undo an earlier request's kept work); a failure of the caller's own statement
    /// leaves the savepoint usable, as if it had run alone.
    /// </summary>
    internal async Task<T> RunHeldAsync<T>(Npgsql.NpgsqlBatch batch, Func<Npgsql.NpgsqlBatch, Task<T>> run)
    {
        var held = _heldInFlight;
        _heldInFlight = 0;
        try
        {
            return await run(batch);
        }
        catch (Exception e)
        {
            if (held > 0 && !(e is Npgsql.PostgresException { BatchCommand: { } failed } && batch.BatchCommands.IndexOf(failed) >= held))
                _heldFailed = true;
            throw;
        }
    }

    /// <summary>Sends what is held, in a round trip of its own (for a statement that cannot take it along).</summary>
    internal async Task SendHeldAsync()
    {
        if (!HasHeld) return;
        await using var batch = TakeHeld();
        await RunHeldAsync(batch, b => b.ExecuteNonQueryAsync());
    }

    /// <summary>
    /// <see cref="SendHeldAsync"/> for the synchronous ADO.NET calls, which the store does not make (its statements are
    /// asynchronous); kept so a synchronous caller still sends what is held first, with the same failure bookkeeping.
    /// </summary>
    internal void SendHeld() => SendHeldAsync().GetAwaiter().GetResult();

    public Task ReleaseAsync(string name)
    {
        Pending.Unmark();
        if (_savepointHeld)
        {
            // Kept before anything after it was sent: the savepoint was never needed (nothing of the request reached
            // the server, so nothing there could have been undone). It is dropped unsent, and the request's held
            // statements stay where they are, in order — PostgreSQL then makes no subtransaction for it (ADR 0022).
            _sendWithNextWrites.RemoveAt(_heldAtSavepoint);
            _savepointHeld = false;
            return Task.CompletedTask;
        }
        // PostgreSQL: no RELEASE statement; the savepoint stays open until COMMIT, which releases it with the
        // rest (a round trip per request saved). Later savepoints nest inside it; a rollback only ever names
        // the latest one, so it never reaches back past this request's work. SQLite has no round trip to save
        // and pays for depth instead: every page a request writes is checked against each open savepoint.
        if (Dialect.IsPostgres || TryRunRaw(SavepointTexts(name).Release)) return Task.CompletedTask;
        return Dapper.SqlMapper.ExecuteAsync(Connection, $"RELEASE SAVEPOINT {name}", transaction: Transaction);
    }

    public Task LimitLockWaitsAsync(TimeSpan wait)
    {
        // Held, not sent: the mutation batcher calls this right before its first savepoint, which carries it.
        if (Dialect.IsPostgres) SendWithNextWrites(new Npgsql.NpgsqlBatchCommand($"SET LOCAL lock_timeout = '{(long)wait.TotalMilliseconds}ms'"));
        return Task.CompletedTask;
    }

    public async Task RollbackToAsync(string name)
    {
        // The buffers and caches first: even if the statement fails (a lost connection), the batch then
        // fails as a whole and nothing of this session is committed.
        Pending.RollbackToMark();
        _catalog.ForgetRemembered();
        _customers.ForgetReadAhead();
        _balances.ForgetReadAhead();
        if (_heldFailed) throw new InvalidOperationException("A statement held for this transaction failed; it cannot be rolled back to a savepoint");
        for (var i = _heldAtSavepoint; i < _sendWithNextWrites.Count; i++) _heldRows.Remove(_sendWithNextWrites[i]);
        _sendWithNextWrites.RemoveRange(_heldAtSavepoint, _sendWithNextWrites.Count - _heldAtSavepoint);
        if (_savepointHeld)
        {
            // The savepoint was never sent, so nothing after it reached the server: dropping what was held is the rollback.
            _savepointHeld = false;
            return;
        }
        await Dapper.SqlMapper.ExecuteAsync(Connection, $"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}", transaction: Transaction);
    }

    /// <summary>
    /// PostgreSQL statements <see cref="RowWriter"/> holds instead of sending while <see cref="DeferRowWrites"/>
    /// is on (see <c>IBalanceStore.WriteTogetherAsync</c>); null when off.
    /// </summary>
    internal Npgsql.NpgsqlBatch? DeferredRowWrites { get; private set; }

    internal void DeferRowWrites()
    {
        if (DeferredRowWrites is not null) throw new InvalidOperationException("row writes are already being held");
        DeferredRowWrites = new Npgsql.NpgsqlBatch((Npgsql.NpgsqlConnection)Native, (Npgsql.NpgsqlTransaction?)Transaction);
    }

    /// <summary>Stops holding and forgets what was held (the transaction is failing).</summary>
    internal void DropDeferredRowWrites()
    {
        DeferredRowWrites?.Dispose();
        DeferredRowWrites = null;
    }

    /// <summary>
    /// Moves what <see cref="DeferRowWrites"/> held to the statements sent with the next savepoint, batch of writes or
    /// commit (<see cref="SendWithNextWrites"/>), and stops holding.
    /// </summary>
    internal void HoldDeferredRowWrites()
    {
        if (DeferredRowWrites is not { } batch) return;
        DeferredRowWrites = null;
        var commands = new List<Npgsql.NpgsqlBatchCommand>(batch.BatchCommands);
        batch.BatchCommands.Clear();
        batch.Dispose();
        foreach (var c in commands) SendWithNextWrites(c);
    }

    /// <summary>
    /// Sends what <see cref="DeferRowWrites"/> held, in one round trip, and stops holding; with <paramref name="commit"/>,
    /// the transaction's COMMIT rides last in the same round trip.
    /// </summary>
    internal async Task SendDeferredRowWritesAsync(bool commit = false)
    {
        if (DeferredRowWrites is not { } batch) return;
        DeferredRowWrites = null;
        await JoinHeldRowsAsync(_sendWithNextWrites);
        // The deferred rows join among themselves too (the commit's outbox events, audit records and journal lines of
        // every request of a batch). Until 2026-12-07 only the held statements were joined, and RowWriter's rows of a
        // small batch (≤ 8 a table) went one statement a row: under PUT on PostgreSQL every event paid its own bind,
        // executor start and run of the event-queue trigger (bench/README.md, twenty-ninth session). Joined apart from
        // the held statements, so a failure among them stays the batch's own (RunHeldAsync).
        await JoinHeldRowsAsync(batch.BatchCommands);
        PutHeldFirst(batch);
        if (commit) batch.BatchCommands.Add(new Npgsql.NpgsqlBatchCommand("COMMIT"));
        await using (batch)
        {
            if (batch.BatchCommands.Count > 0) await RunHeldAsync(batch, b => b.ExecuteNonQueryAsync());
        }
    }

    /// <summary>Append-only rows written together before the commit (see <see cref="PendingRows"/>).</summary>
    internal PendingRows Pending { get; } = new();

    /// <summary>
    /// Writes the rows <see cref="Pending"/> holds. The store calls it before every commit; a read of a
    /// table those rows go to calls it first, so the session always reads what it wrote.
    /// </summary>
    public async Task FlushAsync()
    {
        if (!Dialect.IsPostgres || DeferredRowWrites is not null)
        {
            await Pending.FlushAsync(this);
            return;
        }
        // On PostgreSQL the held rows of every table, and any held statement, in one round trip.
        await FlushPostgresAsync(commit: false);
    }

    /// <summary>
    /// Writes what <see cref="Pending"/> and the held statements hold and commits the transaction. On PostgreSQL
    /// the COMMIT goes in the same round trip as the last writes (a round trip a transaction fewer: a balance
    /// batch's chain of load, writes and commit is what a hot customer waits on). A write that fails there makes
    /// the server skip the COMMIT (the transaction stays aborted and the driver rolls it back on disposal); the
    /// caller sees the error as it saw a failing flush before. After the COMMIT the driver finds the connection
    /// outside a transaction and sends nothing more for <see cref="Transaction"/>.
    /// </summary>
    internal Task CommitPostgresAsync() =>
        Dialect.IsPostgres ? FlushPostgresAsync(commit: true) : throw new InvalidOperationException("SQLite sessions commit through SqliteStore");

    private async Task FlushPostgresAsync(bool commit)
    {
        DeferRowWrites();
        try
        {
            await Pending.FlushAsync(this);
        }
        catch
        {
            DropDeferredRowWrites();
            throw;
        }
        await SendDeferredRowWritesAsync(commit);
    }

    /// <summary>The driver's own connection, for code that uses driver features (bulk writers, prepared loops).</summary>
    public DbConnection Native { get; }
    public DbTransaction? Transaction { get; }
    public SqlDialect Dialect { get; }

    // One parameter whatever the list's length, so the statement text never changes and stays prepared:
    // an array for PostgreSQL's = ANY(…), a JSON array that SQLite's json_each unpacks. (Dapper's own
    // expansion of IN @list writes one placeholder per element: new text, and a new prepare, per length.)
    // One value is plain equality instead: PostgreSQL's generic plan for = ANY($n) assumes ten elements,
    // so it never beats the custom plan for one and every execution was planned again (most of the
    // server's CPU on a read-only check of one customer); for = $n the generic plan is as cheap as the
    // custom one and is kept after five executions. So at most two statement texts per query.
    public string In(string column, string parameter, IReadOnlyCollection<string> values) =>
        values.Count == 1 ? $"{column} = @{parameter}"
        : Dialect.IsPostgres ? $"{column} = ANY(@{parameter})" : $"{column} IN (SELECT value FROM json_each(@{parameter}))";

    /// <summary>
    /// A statement written with Dapper's <c>@name</c> parameters as a PostgreSQL batch command, whose
    /// parameters are positional: each distinct name becomes <c>$n</c> in order of first use, with its
    /// value from <paramref name="args"/>.
    /// </summary>
    internal static Npgsql.NpgsqlBatchCommand Positional(string sql, IReadOnlyDictionary<string, object?> args)
    {
        var rewritten = PositionalSql.For(sql);
        var command = new Npgsql.NpgsqlBatchCommand(rewritten.Text);
        foreach (var name in rewritten.Names) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = args[name] ?? DBNull.Value });
        return command;
    }

    /// <summary>The value for a parameter used with <see cref="In"/> for the same values.</summary>
    public object List(IReadOnlyCollection<string> values) =>
        values.Count == 1 ? values.First()
        : Dialect.IsPostgres ? values.ToArray() : System.Text.Json.JsonSerializer.Serialize(values, Kassa.Engine.Json.KassaJson.Options);

    public IAccountStore Accounts { get; }
    public IApiKeyStore ApiKeys { get; }
    public ICustomerStore Customers { get; }
    public IAuditStore Audit { get; }
    public IIdempotencyStore Idempotency { get; }
    public IEventStore Events { get; }
    public IWebhookStore Webhooks { get; }
    public ICatalogStore Catalog { get; }
    public IBalanceStore Balances { get; }
    public ITestClockStore TestClocks { get; }
    public ISubscriptionStore Subscriptions { get; }
    public IEntityStore Entities { get; }
    public ITopUpStore TopUps { get; }
    public ISpendCapStore SpendCaps { get; }
    public IMeteringStore Metering { get; }
    public IGroupCommitStore GroupCommits { get; }
    public IBacklogStore Backlog { get; }
    public IInvoiceStore Invoices { get; }
    public ILedgerStore Ledger { get; }
    public IPaymentStore Payments { get; }
    public ICouponStore Coupons { get; }
    public ITaxRateStore TaxRates { get; }
    public ICustomerCreditStore CustomerCredit { get; }
    public ICreditNoteStore CreditNotes { get; }
    public IKassaMetaStore Meta { get; }
    public IUsageBillingStore UsageBilling { get; }
    public IClockBalanceStore ClockBalances { get; }
    public IProviderStore Providers { get; }
    public IProviderEventStore ProviderEvents { get; }
    public IDisputeStore Disputes { get; }
    public ICheckoutStore Checkout { get; }
    public Kassa.Engine.Balances.BalanceCache? BalanceMemory { get; }
}
