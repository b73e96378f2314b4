using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Balances;

/// <summary>
/// The balance writer's memory of the balances it wrote, kept between batches on SQLite (ADR 0021): a batch
/// whose customers are here skips loading their headers, buckets and spend caps, which was ~40 % of the
/// writer's time over many customers. The database stays the truth: the memory is used only while the
/// store's balance cache epoch still holds the token this writer wrote as its last batch's last write
/// (every other change to what a book loads moves the epoch, by trigger), and a customer is kept only when
/// what is in memory is exactly what the batch stored.
/// <para>
/// Single-threaded by construction: every call happens inside the store's write transaction, which one
/// writer at a time holds. An entry is taken out of the memory for the batch that uses it, so a batch
/// that fails leaves no half-changed entry behind.
/// </para>
/// </summary>
public sealed class BalanceCache(int customersMax = BalanceCache.CustomersMaxDefault)
{
    /// <summary>
    /// At most this many customers are kept (a few KB each with a handful of balances); past it the memory
    /// starts over, so a workload over more customers than this still gets hits on the recent ones.
    /// </summary>
    public const int CustomersMaxDefault = 50_000;

    private readonly Dictionary<(string AccountId, bool Livemode, string CustomerId), CachedCustomer> _entries = new();

    /// <summary>The token the last kept batch wrote; -1 when none can be trusted (tokens are positive, trigger moves only add).</summary>
    private long _token = -1;

    public int Count => _entries.Count;
    /// <summary>Customers taken from memory since start (tests; /metrics counts hits and misses itself).</summary>
    public long Hits { get; private set; }

    /// <summary>The customer's entry as kept now, without taking it (tests).</summary>
    public CachedCustomer? Peek(Tenant tenant, string customerId) => _entries.GetValueOrDefault((tenant.AccountId, tenant.Livemode, customerId));

    /// <summary>The key the memory holds a customer's entry under, its own strings (tests: which objects it points at); a walk of every key.</summary>
    public (string AccountId, bool Livemode, string CustomerId)? StoredKey(Tenant tenant, string customerId)
    {
        foreach (var key in _entries.Keys)
        {
            if (key == (tenant.AccountId, tenant.Livemode, customerId)) return key;
        }
        return null;
    }

    /// <summary>At the start of a batch, inside its transaction: forgets everything unless no other writer changed balances since the last kept batch.</summary>
    public async Task BeginAsync(IStoreSession s)
    {
        var epoch = await s.Balances.ReadCacheEpochAsync();
        if (epoch == _token) return;
        if (_entries.Count > 0)
        {
            _entries.Clear();
            KassaMeters.BalanceCacheInvalidations.Add(1);
        }
        _token = -1;
    }

    /// <summary>
    /// Takes the customers' entries out of memory for this batch: only those a fresh load at <paramref name="now"/>
    /// would give the same rows (a bucket the load would now leave out sends its customer to the store).
    /// </summary>
    public Dictionary<string, CachedCustomer> Take(Tenant tenant, IReadOnlyList<string> customerIds, DateTimeOffset now)
    {
        var taken = new Dictionary<string, CachedCustomer>(StringComparer.Ordinal);
        foreach (var id in customerIds)
        {
            if (_entries.Remove((tenant.AccountId, tenant.Livemode, id), out var entry) && LoadWouldMatch(entry, now)) taken[id] = entry;
        }
        Hits += taken.Count;
        if (taken.Count > 0) KassaMeters.BalanceCacheLookups.Add(taken.Count, KassaMeters.HitTag);
        if (customerIds.Count > taken.Count) KassaMeters.BalanceCacheLookups.Add(customerIds.Count - taken.Count, KassaMeters.MissTag);
        return taken;
    }

    /// <summary>Whether the store's load would give every kept balance's rows (<see cref="KeptBalance.LoadWouldMatch"/>).</summary>
    private static bool LoadWouldMatch(CachedCustomer entry, DateTimeOffset now)
    {
        foreach (var kept in entry.Balances)
        {
            if (!kept.LoadWouldMatch(now)) return false;
        }
        return true;
    }

    /// <summary>Drops the customers' entries (a batch that loaded them another way, a test clock's).</summary>
    public void Forget(Tenant tenant, IEnumerable<string> customerIds)
    {
        foreach (var id in customerIds) _entries.Remove((tenant.AccountId, tenant.Livemode, id));
    }

    /// <summary>
    /// After the batch's writes, inside its transaction: keeps the customers of <paramref name="books"/> whose memory
    /// equals what was stored, then writes a new token as the transaction's last balance write. Not trusted until
    /// that write succeeded; if the transaction then rolls back, the epoch reverts and the next batch starts over.
    /// </summary>
    public async Task KeepAsync(IStoreSession s, IEnumerable<BalanceBook> books, IReadOnlySet<string> customersWithNewLocks)
    {
        _token = -1;
        foreach (var book in books)
        {
            var tenant = book.Tenant;
            var lockCustomers = new HashSet<string>(customersWithNewLocks, StringComparer.Ordinal);
            foreach (var l in book.Locks.Values) lockCustomers.Add(l.CustomerId);
            var byCustomer = book.ByCustomer();
            foreach (var customer in book.Customers)
            {
                var key = (tenant.AccountId, tenant.Livemode, customer);
                _entries.Remove(key);
                if (lockCustomers.Contains(customer)) continue;
                if (book.ToCached(customer, byCustomer[customer]) is not { } entry) continue;
                // Bounded: past the limit the memory starts over rather than growing or paying for eviction order.
                if (_entries.Count >= customersMax) _entries.Clear();
                // The entry's own key once it has one (CachedCustomer.Key): the same strings as before, so no new reference.
                entry.Key ??= key;
                _entries[entry.Key.Value] = entry;
            }
        }
        var token = Random.Shared.NextInt64(1, long.MaxValue / 2);
        await s.Balances.WriteCacheEpochAsync(token);
        _token = token;
    }
}
