using System.Data.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>What differs between the engines in otherwise shared SQL.</summary>
internal sealed record SqlDialect(string Engine, bool IsPostgres)
{
    /// <summary>Row locking for read-modify-write; SQLite needs none (one writer holds the database).</summary>
    public string ForUpdate => IsPostgres ? " FOR UPDATE" : "";
}

/// <summary>One transaction (or one read connection) and the data areas that run on it.</summary>
internal sealed class SqlSession : IStoreSession
{
    public SqlSession(DbConnection connection, DbTransaction? transaction, SqlDialect dialect)
    {
        Connection = connection;
        Transaction = transaction;
        Dialect = dialect;
        Accounts = new SqlAccounts(this);
        ApiKeys = new SqlApiKeys(this);
        Customers = new SqlCustomers(this);
        Audit = new SqlAudit(this);
        Idempotency = new SqlIdempotency(this);
    }

    public DbConnection Connection { get; }
    public DbTransaction? Transaction { get; }
    public SqlDialect Dialect { get; }

    public IAccountStore Accounts { get; }
    public IApiKeyStore ApiKeys { get; }
    public ICustomerStore Customers { get; }
    public IAuditStore Audit { get; }
    public IIdempotencyStore Idempotency { get; }
}
