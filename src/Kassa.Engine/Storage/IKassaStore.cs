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

    /// <summary>
    /// SQLite: the balance writer's memory (ADR 0021), handed to main-file write sessions only
    /// (<see cref="IStoreSession.BalanceMemory"/>). Null on PostgreSQL. Not to be used outside a write transaction.
    /// </summary>
    Balances.BalanceCache? BalanceMemory => null;
    Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default);
    Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default);

    /// <summary>
    /// <see cref="WriteAsync{T}"/> that returns as soon as the transaction has committed, with a task that
    /// completes once the commit is durable (at once where COMMIT itself waits for the disk, as on PostgreSQL;
    /// after the next group fsync on SQLite, ADR 0011). Nobody may be told of the change before
    /// <see cref="Committed{T}.Durable"/> completes; if it faults, whether the change survives a power loss is
    /// unknown. A group-commit loop uses this to start its next batch while the previous one is made durable.
    /// </summary>
    Task<Committed<T>> WriteCommittedAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default);

    /// <summary>
    /// A write of the meter rollups and the roller's watermark (<c>RollMeterEvents</c>, <c>RebuildMeterRollups</c>),
    /// committed when the work returns and durable when this completes. Nothing else may be written in it. On
    /// SQLite they live in their own file with its own lock, so rolls run beside ingest (ADR 0006); on
    /// PostgreSQL this is <see cref="WriteAsync{T}"/>.
    /// </summary>
    Task<T> WriteRollupsAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default);

    /// <summary>
    /// A write of the event index and the indexer's watermark (<c>IndexMeterEvents</c>), committed when the work
    /// returns and durable when this completes. SQLite only, where the index has a file, lock and loop of its own
    /// beside the roller (ADR 0006); on PostgreSQL each roll writes the index in its own transaction and this is
    /// <see cref="WriteAsync{T}"/>.
    /// </summary>
    Task<T> WriteEventIndexAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default);
}

/// <summary>A committed write's result and the task that completes when the commit is durable.</summary>
public readonly record struct Committed<T>(T Result, Task Durable);

/// <summary>The data areas visible inside one read or write transaction.</summary>
public interface IStoreSession
{
    IAccountStore Accounts { get; }
    IApiKeyStore ApiKeys { get; }
    ICustomerStore Customers { get; }
    IAuditStore Audit { get; }
    IIdempotencyStore Idempotency { get; }
    IEventStore Events { get; }
    IWebhookStore Webhooks { get; }
    ICatalogStore Catalog { get; }
    IBalanceStore Balances { get; }
    ISubscriptionStore Subscriptions { get; }
    ITestClockStore TestClocks { get; }
    IEntityStore Entities { get; }
    ITopUpStore TopUps { get; }
    ISpendCapStore SpendCaps { get; }
    IMeteringStore Metering { get; }
    IGroupCommitStore GroupCommits { get; }
    IBacklogStore Backlog { get; }
    IInvoiceStore Invoices { get; }
    ILedgerStore Ledger { get; }
    IPaymentStore Payments { get; }
    ICouponStore Coupons { get; }
    ITaxRateStore TaxRates { get; }
    ICustomerCreditStore CustomerCredit { get; }
    ICreditNoteStore CreditNotes { get; }
    IKassaMetaStore Meta { get; }
    IUsageBillingStore UsageBilling { get; }
    IClockBalanceStore ClockBalances { get; }
    IProviderStore Providers { get; }
    IProviderEventStore ProviderEvents { get; }
    IDisputeStore Disputes { get; }
    ICheckoutStore Checkout { get; }

    /// <summary>
    /// The store's balance writer memory (ADR 0021), in a SQLite main-file write session only: every user runs
    /// inside the write transaction, which one session at a time holds. Null on PostgreSQL and in reads.
    /// </summary>
    Balances.BalanceCache? BalanceMemory { get; }
}

/// <summary>
/// Marker rows that settle a group commit whose COMMIT was sent but not acknowledged (see
/// <see cref="Common.GroupCommit{T}"/>): the batch writes its marker in its own transaction; a fence
/// insert of the same id afterwards tells whether it committed, and if not makes sure it never will.
/// </summary>
public interface IGroupCommitStore
{
    /// <summary>Writes the batch's marker in the batch's transaction (on PostgreSQL held until the session next writes, opens a savepoint or commits).</summary>
    Task RecordAsync(string batchId, DateTimeOffset now);
    /// <summary>
    /// Inserts a fence for the batch, waiting for the batch's transaction if it is still open: true when
    /// the fence was stored (the batch did not commit and now cannot), false when the batch's marker is there.
    /// </summary>
    Task<bool> FenceAsync(string batchId, DateTimeOffset now);
    /// <summary>Deletes up to <paramref name="batchSizeMax"/> markers written before <paramref name="before"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset before, int batchSizeMax);
}

public interface IAccountStore
{
    Task<bool> AnyAsync();
    Task<AccountRecord?> GetAsync(string accountId);
    Task InsertAsync(AccountRecord account);
    /// <summary>Claims the one-time "first account" marker; false when another process already did.</summary>
    Task<bool> TryClaimFirstAccountAsync(string accountId);
    /// <summary>
    /// Serialises, until the transaction ends, the writers that count a tenant's objects of one kind
    /// against a fixed bound and then add one (<paramref name="limit"/> names the bound): without it two
    /// writers could both count N - 1 and both add, leaving N + 1 that a bounded read would cut short.
    /// A PostgreSQL advisory lock; SQLite's single writer needs none.
    /// </summary>
    Task LockLimitAsync(Tenant tenant, string limit);
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
    /// <summary>
    /// Reads and locks the named customers in one round trip for the rest of the transaction, so a later
    /// <see cref="GetForUpdateAsync"/> of one of them is answered without another (PostgreSQL; SQLite reads in-process
    /// and does nothing here). A customer another transaction holds is skipped, not waited for: its own
    /// <see cref="GetForUpdateAsync"/> then reads and waits. An id that names no customer is simply not found.
    /// </summary>
    Task ReadAheadForUpdateAsync(IReadOnlyCollection<(Tenant Tenant, string Id)> customers);
    /// <summary>Inserts unless the id exists (archived or not); false when it did.</summary>
    Task<bool> TryInsertAsync(CustomerRecord customer);
    /// <param name="deferred">
    /// On PostgreSQL the UPDATE is held and travels in front of the session's next statement or with the commit
    /// instead of in a round trip of its own (adjacent held updates go as one statement at the commit; a failure
    /// fails the whole transaction, which the mutation batcher runs again request by request; ADR 0022). SQLite
    /// runs it at once either way.
    /// </param>
    Task UpdateAsync(CustomerRecord customer, bool deferred = false);
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

public interface IEventStore
{
    Task AppendAsync(EventRecord e);
    Task<EventRecord?> GetAsync(Tenant tenant, string id);
    Task<IReadOnlyList<EventRecord>> ListAsync(Tenant tenant, EventFilter filter, Cursor? after, int limit);
    /// <summary>
    /// Takes the dispatcher's turn: false when another node is dispatching right now (PostgreSQL
    /// advisory lock held to the end of the transaction; SQLite's single writer needs none).
    /// </summary>
    Task<bool> TryLockDispatchAsync();
    /// <summary>The oldest events not yet fanned out to webhook endpoints, in commit order (without their data).</summary>
    Task<IReadOnlyList<QueuedEvent>> UndispatchedAsync(int limit);
    Task MarkDispatchedAsync(IReadOnlyList<long> seqs);
}

public interface IWebhookStore
{
    Task InsertEndpointAsync(WebhookEndpointRecord endpoint);
    /// <summary>A live (not deleted) endpoint; locked for update on PostgreSQL.</summary>
    Task<WebhookEndpointRecord?> GetEndpointAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateEndpointAsync(WebhookEndpointRecord endpoint);
    Task<IReadOnlyList<WebhookEndpointRecord>> ListEndpointsAsync(Tenant tenant, Cursor? after, int limit);
    /// <summary>Every live, enabled endpoint of a tenant (bounded by <paramref name="limit"/>).</summary>
    Task<IReadOnlyList<WebhookEndpointRecord>> EnabledEndpointsAsync(Tenant tenant, int limit);
    Task EnqueueAsync(Tenant tenant, string endpointId, QueuedEvent e, DateTimeOffset now);
    /// <summary>
    /// Claims up to <paramref name="limit"/> due deliveries with a lease: never a row another worker
    /// holds, never a later event of an object while an earlier one for the same endpoint is pending.
    /// </summary>
    Task<IReadOnlyList<ClaimedDelivery>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int limit, string leaseToken);
    /// <summary>Records the outcome of an attempt on the queue row, only while the lease is still ours.</summary>
    Task<bool> CompleteAttemptAsync(long queueId, string lease, string state, int attempts, DateTimeOffset nextAttemptAt);
    Task AppendAttemptAsync(WebhookAttemptRecord attempt);
    Task<IReadOnlyList<WebhookAttemptRecord>> ListAttemptsAsync(Tenant tenant, string endpointId, Cursor? after, int limit);
}

public interface ICatalogStore
{
    Task<bool> TryInsertFeatureAsync(FeatureRecord feature);
    Task<FeatureRecord?> GetFeatureAsync(Tenant tenant, string id, bool forUpdate = false);
    Task<IReadOnlyList<FeatureRecord>> GetFeaturesAsync(Tenant tenant, IReadOnlyCollection<string> ids);
    Task UpdateFeatureAsync(FeatureRecord feature);
    Task<IReadOnlyList<FeatureRecord>> ListFeaturesAsync(Tenant tenant, Cursor? after, int limit);

    Task<bool> TryInsertProductAsync(ProductRecord product);
    Task<ProductRecord?> GetProductAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateProductAsync(ProductRecord product);
    Task<IReadOnlyList<ProductRecord>> ListProductsAsync(Tenant tenant, bool includeArchived, Cursor? after, int limit);
    Task InsertVersionAsync(ProductVersionRecord version);
    /// <summary>Replaces a version nobody subscribes to (versions with subscribers are immutable).</summary>
    Task ReplaceVersionAsync(ProductVersionRecord version);
    Task<ProductVersionRecord?> GetVersionAsync(Tenant tenant, string productId, int version);
    Task<IReadOnlyList<ProductVersionRecord>> ListVersionsAsync(Tenant tenant, string productId, int limit);
    Task<bool> HasSubscriptionsAsync(Tenant tenant, string productId, int version);
    /// <summary>Active products with <c>auto_enable</c>: attached to every new customer (bounded).</summary>
    Task<IReadOnlyList<ProductRecord>> AutoEnableProductsAsync(Tenant tenant, int limit);
    /// <summary>A customer's subscriptions that are not over (for pricing-table scenarios), bounded.</summary>
    Task<IReadOnlyList<SubscriptionSummary>> LiveSubscriptionsAsync(Tenant tenant, string customerId, int limit);
}

/// <summary>
/// Balances, buckets, locks, usage and the credit transaction log. Loads are per tenant and per set of
/// customers so one batch of the balance engine reads everything it needs in a few queries.
/// </summary>
public interface IBalanceStore
{
    /// <summary>
    /// Runs <paramref name="writes"/> (this store's save and insert methods only, no reads) so that they reach
    /// the database together: on PostgreSQL one round trip for all their statements instead of one per call
    /// (the balance batch's persist phase was five); on SQLite, as they come. Every write has happened when
    /// the task ends — unless <paramref name="deferred"/>: then, on PostgreSQL, they travel with the session's next
    /// savepoint, batch of writes or commit (one round trip fewer a grant in a mutation batch), and the caller
    /// promises that nothing in this transaction reads those rows before then.
    /// </summary>
    Task WriteTogetherAsync(Func<Task> writes, bool deferred = false);
    /// <summary>Marks a bucket a purchase granted as sold for <paramref name="amountMinor"/> (deferred revenue until its credits are used).</summary>
    Task SetDeferredAsync(StoredBucket bucket, long amountMinor, string currency);
    /// <summary>Buckets with deferred revenue not yet all recognised, in key order after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<DeferredBucket>> DeferredAsync(DeferredBucket? after, int limit);
    /// <summary>Records how much of a bucket's deferred revenue has been recognised.</summary>
    Task SetRecognizedAsync(DeferredBucket bucket, long recognizedMinor);
    /// <summary>
    /// Everything a balance batch or read needs for some customers of one tenant, read in the order and with
    /// the locks of the loads below (customers, headers locked when asked, buckets, held locks, features with
    /// every credit system, usage by idempotency key): on PostgreSQL in one round trip instead of one per load,
    /// which was most of a batch's wait for its rows.
    /// </summary>
    Task<BookRows> LoadBookAsync(BookQuery query);

    /// <summary>
    /// PostgreSQL: reads the balance books of customers this transaction has locked (the mutation batcher's
    /// customer read-ahead), locking their headers, in one round trip; the first <see cref="LoadBookAsync"/> for one
    /// of them for update is answered from it without a round trip. A customer whose headers another transaction
    /// holds is left out (its own load waits for them inside its request). The caller guarantees that nothing in
    /// the transaction writes a customer's balance rows before that customer's own load (a batch of grants only).
    /// SQLite: nothing (its loads are in-process).
    /// </summary>
    Task ReadAheadBooksAsync(IReadOnlyCollection<(Tenant Tenant, string Id)> customers, DateTimeOffset now);
    /// <summary>The balance headers of these customers; on PostgreSQL locked in key order until the transaction ends.</summary>
    Task<IReadOnlyList<BalanceHeader>> LoadHeadersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, bool forUpdate);
    /// <summary>Buckets that still matter at <paramref name="now"/>: not voided and usable, holding something, or with an expiry not yet recorded.</summary>
    Task<IReadOnlyList<StoredBucket>> LoadBucketsAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, DateTimeOffset now);
    Task<IReadOnlyList<LockRecord>> LoadHeldLocksAsync(Tenant tenant, IReadOnlyCollection<string> customerIds);
    Task<IReadOnlyList<LockRecord>> LoadLocksAsync(Tenant tenant, IReadOnlyCollection<string> lockIds);
    Task<IReadOnlyList<UsageRecord>> LoadUsageByKeysAsync(Tenant tenant, IReadOnlyCollection<string> customerIds, IReadOnlyCollection<string> keys);
    /// <summary>Which of these customers exist and are not deleted.</summary>
    Task<IReadOnlySet<string>> ExistingCustomersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds);

    Task SaveHeadersAsync(IReadOnlyList<BalanceHeader> headers);
    Task SaveBucketsAsync(IReadOnlyList<StoredBucket> buckets);
    Task InsertLocksAsync(IReadOnlyList<LockRecord> locks);
    Task UpdateLocksAsync(IReadOnlyList<LockRecord> locks);
    Task InsertUsageAsync(IReadOnlyList<UsageRecord> usage);
    /// <summary>Forgets the idempotency key (and stored answer) of these usage records; the usage itself stays.</summary>
    Task ReleaseIdempotencyKeysAsync(IReadOnlyList<UsageRecord> records);
    /// <summary>Forgets keys older than <paramref name="cutoff"/>, at most <paramref name="batchSizeMax"/>; returns how many.</summary>
    Task<int> ReleaseIdempotencyKeysOlderThanAsync(DateTimeOffset cutoff, int batchSizeMax);
    Task InsertTransactionsAsync(IReadOnlyList<CreditTransactionRecord> transactions);
    /// <summary>
    /// Per feature, the overage that balance resets of the customer recorded (movements of type
    /// <c>reset</c>, entity balances included) with <c>from &lt; created_at ≤ to</c>: the usage a
    /// renewal bills in arrears. Reads the customer's index range only.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> ResetOverageAsync(Tenant tenant, string customerId, IReadOnlyCollection<string> featureIds, DateTimeOffset from, DateTimeOffset to);
    /// <summary>
    /// SQLite only (ADR 0021): the balance cache epoch, a row every change to what a balance book loads moves
    /// (triggers), and the balance writer's own token written as its batch's last write.
    /// </summary>
    Task<long> ReadCacheEpochAsync();
    Task WriteCacheEpochAsync(long token);
    /// <summary>Deletes a boolean feature's entitlement row (a flag has no buckets): the customer no longer has the feature.</summary>
    Task DeleteFlagAsync(Tenant tenant, string customerId, string featureId, string entityId);

    Task<StoredBucket?> GetBucketAsync(Tenant tenant, string id);
    Task<IReadOnlyList<StoredBucket>> ListGrantsAsync(Tenant tenant, string? customerId, Cursor? after, int limit);
    /// <summary>Per feature, the totals of the customer's grants live at <paramref name="now"/>, summed by the database over every grant (no window).</summary>
    Task<IReadOnlyList<GrantTotals>> SummarizeGrantsAsync(Tenant tenant, string customerId, DateTimeOffset now);
    Task<IReadOnlyList<CreditTransactionRecord>> ListTransactionsAsync(Tenant tenant, string? customerId, string? featureId, Cursor? after, int limit);
    /// <summary>SQLite's credit indexer, its read (ADR 0018): the watermark and the committed movements at or above it, at most <paramref name="movementsMax"/>.</summary>
    Task<CreditsToIndex> ReadCreditTransactionsToIndexAsync(int movementsMax);
    /// <summary>SQLite's credit indexer, its write, in the index file (<see cref="IKassaStore.WriteEventIndexAsync{T}"/>): returns the movements indexed, 0 when another pass moved the watermark since the read.</summary>
    Task<int> IndexCreditTransactionsAsync(CreditsToIndex read, DateTimeOffset now);
    /// <summary>Customers with a period that has ended or a bucket that has expired but is not recorded yet (bounded).</summary>
    Task<IReadOnlyList<(Tenant Tenant, string CustomerId)>> DueForMaintenanceAsync(DateTimeOffset now, int limit);
    /// <summary>Held locks past their expiry, oldest first (the lock-expiry worker's input).</summary>
    Task<IReadOnlyList<LockRecord>> ExpiredLocksAsync(DateTimeOffset now, int limit);
    /// <summary>
    /// In one query: the named features and every credit-system feature of the tenant (whose schemas
    /// route checks of other features), at most 100 of those.
    /// </summary>
    Task<IReadOnlyList<FeatureRecord>> FeaturesWithCreditSystemsAsync(Tenant tenant, IReadOnlyCollection<string> featureIds);
}


public sealed record EntityRecord(string AccountId, bool Livemode, string CustomerId, string Id, string FeatureId, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? DeletedAt);

public interface IEntityStore
{
    Task<EntityRecord?> GetAsync(Tenant tenant, string customerId, string id);
    Task InsertAsync(EntityRecord entity);
    /// <summary>Re-creates a deleted entity under the same id (its per-entity balances are kept).</summary>
    Task UpdateAsync(EntityRecord entity);
    /// <summary>A customer's live entities, optionally of one feature, oldest first, after the cursor (a page of at most <paramref name="limit"/>).</summary>
    Task<IReadOnlyList<EntityRecord>> ListAsync(Tenant tenant, string customerId, string? featureId, Kassa.Core.Paging.Cursor? after, int limit);
}

public interface ITopUpStore
{
    Task<TopUps.AutoTopUpRecord?> GetAsync(Tenant tenant, string customerId, string featureId);
    Task UpsertAsync(TopUps.AutoTopUpRecord record);
    // Auto top-up purchases (issue 13); the records and what they mean are in TopUpRecords.cs.
    Task<TopUps.AutoTopUpRecord?> GetForUpdateAsync(Tenant tenant, string customerId, string featureId);
    Task UpdateStateAsync(TopUps.AutoTopUpRecord record);
    Task<int> RearmAsync(Tenant tenant, string customerId, DateTimeOffset now);
    Task<IReadOnlyList<TopUps.AutoTopUpRecord>> DueAsync(AutoTopUpScan scan, int limit);
    Task<bool> InsertRunAsync(AutoTopUpRun run);
    Task UpdateRunAsync(AutoTopUpRun run);
    Task<AutoTopUpRun?> GetRunAsync(Tenant tenant, string customerId, string featureId, DateTimeOffset windowStart, bool forUpdate);
    Task<IReadOnlyList<AutoTopUpRun>> ProcessingRunsAsync(AutoTopUpRun? after, int limit);
}

public interface ISpendCapStore
{
    Task<SpendCaps.SpendCapRecord?> GetAsync(Tenant tenant, string customerId, string featureId);
    Task UpsertAsync(SpendCaps.SpendCapRecord record);
    Task DeleteAsync(Tenant tenant, string customerId, string featureId);
    /// <summary>The caps of these customers (the balance engine reads them only for balances whose overage is priced).</summary>
    Task<IReadOnlyList<SpendCaps.SpendCapRecord>> ForCustomersAsync(Tenant tenant, IReadOnlyCollection<string> customerIds);
}
