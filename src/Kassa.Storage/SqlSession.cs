using System.Data.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>What differs between the engines in otherwise shared SQL.</summary>
internal sealed record SqlDialect(string Engine, bool IsPostgres)
{
    /// <summary>Row locking for read-modify-write; SQLite needs none (one writer holds the database).</summary>
    public string ForUpdate => IsPostgres ? " FOR UPDATE" : "";
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
internal sealed class SqlSession : IStoreSession, ISqlAccess
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
        Events = new SqlEvents(this);
        Webhooks = new SqlWebhooks(this);
        Catalog = new SqlCatalog(this);
        Balances = new SqlBalances(this);
        Subscriptions = new SqlSubscriptions(this);
        Entities = new SqlEntities(this);
        TopUps = new SqlTopUps(this);
        SpendCaps = new SqlSpendCaps(this);
        Metering = new SqlMetering(this);
    }

    public DbConnection Connection { get; }
    public DbTransaction? Transaction { get; }
    public SqlDialect Dialect { get; }

    public IAccountStore Accounts { get; }
    public IApiKeyStore ApiKeys { get; }
    public ICustomerStore Customers { get; }
    public IAuditStore Audit { get; }
    public IIdempotencyStore Idempotency { get; }
    public IEventStore Events { get; }
    public IWebhookStore Webhooks { get; }
    public ICatalogStore Catalog { get; }
    public IBalanceStore Balances { get; }
    public ISubscriptionStore Subscriptions { get; }
    public IEntityStore Entities { get; }
    public ITopUpStore TopUps { get; }
    public ISpendCapStore SpendCaps { get; }
    public IMeteringStore Metering { get; }
}
