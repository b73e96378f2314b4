using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// The database, whichever engine. Every write happens inside <see cref="WriteAsync{T}"/>: one
/// transaction, committed when the work returns (unless <c>commitIf</c> says no), rolled back when
/// it throws. Use cases never see connections or SQL.
/// </summary>
public interface IKassaStore : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    string Engine { get; }

    /// <summary>Where the data lives, without credentials, for start-up messages.</summary>
    string Describe();

    Task MigrateAsync(CancellationToken ct = default);
    Task PingAsync(CancellationToken ct = default);
    Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default);
    Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default);
}

/// <summary>The data areas visible inside one read or write transaction.</summary>
public interface IStoreSession
{
    IAccountStore Accounts { get; }
    IApiKeyStore ApiKeys { get; }
    ICustomerStore Customers { get; }
    IAuditStore Audit { get; }
    IIdempotencyStore Idempotency { get; }
}

public interface IAccountStore
{
    Task<bool> AnyAsync();
    Task<AccountRecord?> GetAsync(string accountId);
    Task InsertAsync(AccountRecord account);
    /// <summary>Claims the one-time "first account" marker; false when another process already did.</summary>
    Task<bool> TryClaimFirstAccountAsync(string accountId);
}

public interface IApiKeyStore
{
    Task InsertAsync(ApiKeyRecord key);
    Task<ApiKeyRecord?> FindByHashAsync(string keyHash);
    Task<ApiKeyRecord?> GetAsync(Tenant tenant, string id);
    Task<bool> RevokeAsync(Tenant tenant, string id, DateTimeOffset at);
    Task<IReadOnlyList<ApiKeyRecord>> ListAsync(Tenant tenant, Cursor? after, int limit);
}

public interface ICustomerStore
{
    /// <summary>Returns the customer including an archived one (callers decide what archived means).</summary>
    Task<CustomerRecord?> GetAsync(Tenant tenant, string id);
    /// <summary>
    /// Reads a customer to change it: on PostgreSQL the row stays locked until the transaction ends,
    /// so two concurrent updates of different fields cannot undo each other (no lost update).
    /// </summary>
    Task<CustomerRecord?> GetForUpdateAsync(Tenant tenant, string id);
    /// <summary>Inserts unless the id exists (archived or not); false when it did.</summary>
    Task<bool> TryInsertAsync(CustomerRecord customer);
    Task UpdateAsync(CustomerRecord customer);
    Task<IReadOnlyList<CustomerRecord>> ListAsync(Tenant tenant, string? email, Cursor? after, int limit);
}

public interface IAuditStore
{
    Task AppendAsync(AuditRecord record);
    Task<IReadOnlyList<AuditRecord>> ListAsync(Tenant tenant, AuditFilter filter, Cursor? after, int limit);
}

public sealed record AuditFilter(string? ObjectId, string? ActorId, DateTimeOffset? From, DateTimeOffset? To);

public interface IIdempotencyStore
{
    Task<IdempotencyRecord?> GetAsync(Tenant tenant, string key);
    /// <summary>Inserts a fresh claim; false when a row for the key exists.</summary>
    Task<bool> TryInsertAsync(IdempotencyRecord claim);
    /// <summary>Replaces an expired or abandoned row with a new claim, only if it still has <paramref name="previousToken"/>.</summary>
    Task<bool> TryTakeOverAsync(IdempotencyRecord claim, string previousToken);
    /// <summary>Stores the response for a claim still held by <paramref name="claimToken"/>; false when the claim was lost.</summary>
    Task<bool> CompleteAsync(Tenant tenant, string key, string claimToken, int status, byte[] body, DateTimeOffset expiresAt);
    Task ReleaseAsync(Tenant tenant, string key, string claimToken);
    /// <summary>Deletes up to <paramref name="batchSizeMax"/> expired rows; returns how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset now, int batchSizeMax);
}
