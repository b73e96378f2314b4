using Kassa.Core.Balances;
using Kassa.Core.Ids;
using Kassa.Core.Periods;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>One customer's balance of one feature (and entity), live in memory for a batch or a read.</summary>
public sealed class LiveBalance
{
    private readonly List<StoredBucket> _stored;
    // By id for the few callers that name a bucket, built on first use: a batch that only takes from or adds to the
    // balance hashes no id here (nor, for a balance from the writer's memory, in its FeatureBalance).
    private Dictionary<string, StoredBucket>? _byId;

    /// <summary>A balance that holds no bucket yet (a header made by a grant, subscription or purchase).</summary>
    public static LiveBalance Empty(BalanceHeader header) => new(header, new FeatureBalance([], 0), []);

    /// <summary>
    /// A balance from <paramref name="buckets"/> in the order of <paramref name="balance"/>'s own, whose ids the balance
    /// holds once each (a load, or the writer's memory: <see cref="KeptBalance.ToLive"/>); indexed by id on first use.
    /// </summary>
    public LiveBalance(BalanceHeader header, FeatureBalance balance, List<StoredBucket> buckets)
    {
        Header = header;
        Balance = balance;
        _stored = buckets;
    }

    public BalanceHeader Header { get; }
    public FeatureBalance Balance { get; }
    /// <summary>The stored buckets by id.</summary>
    public IReadOnlyDictionary<string, StoredBucket> Buckets => _byId ??= _stored.ToDictionary(b => b.Bucket.Id, StringComparer.Ordinal);
    /// <summary>The stored buckets in the order they were loaded or added (that of <see cref="FeatureBalance.Buckets"/>).</summary>
    public IReadOnlyList<StoredBucket> Stored => _stored;
    public bool Touched { get; set; }
    /// <summary>The header's overage price, parsed once per batch when a spend cap needs it.</summary>
    public Kassa.Core.Pricing.UsagePrice? OveragePriceModel { get; set; }

    public void Add(StoredBucket bucket)
    {
        // The balance first: it refuses a bucket past the quantity bound or with an id it has, before either list changes.
        Balance.Add(bucket.Bucket);
        _byId?.Add(bucket.Bucket.Id, bucket);
        _stored.Add(bucket);
    }

    public long Remaining(DateTimeOffset now) => Header.Unlimited ? long.MaxValue : Balance.Remaining(now);

    /// <summary>
    /// The balance as the API shows it (spec §5): <c>used</c> is the period's whole usage, overage
    /// included, and <c>overage</c> the part of it past the grants. A boolean feature's flag has no
    /// balance to show (callers report it under <c>flags</c>).
    /// </summary>
    public BalanceView View(DateTimeOffset now)
    {
        var policy = Header.OveragePolicy
            ?? throw new InvalidOperationException($"'{Header.FeatureId}' is a boolean feature's flag; it has no balance to show");
        return Header.Unlimited
            // An unlimited balance keeps its usage in the overage column: nothing past zero is ever billed.
            ? new BalanceView(Header.FeatureId, 0, Micro.ToDecimal(Balance.Overage), 0, 0, 0, true, Header.NextResetAt, policy)
            : new BalanceView(Header.FeatureId, Micro.ToDecimal(Balance.Granted(now)), Micro.ToDecimal(Balance.Usage(now)),
                Micro.ToDecimal(Balance.Remaining(now)), Micro.ToDecimal(Balance.Held(now)), Micro.ToDecimal(Balance.Overage), false,
                Header.NextResetAt, policy);
    }
}

/// <summary>
/// The balances of a set of customers of one tenant, loaded in a few queries, brought up to date
/// lazily (expired locks released, periods reset with rollover, expired buckets recorded) and
/// changed in memory. Pure apart from the loads: writes are the caller's.
/// </summary>
public sealed class BalanceBook
{
    private readonly Dictionary<(string Customer, string Feature, string Entity), LiveBalance> _balances = new();
    private readonly Dictionary<(string Customer, string Feature, string Entity), List<LockRecord>> _heldLocks = new();
    private readonly Dictionary<(string Customer, string Feature), long> _spendCaps = new();
    // The memory entries this book started from (ADR 0021): written back in place when the same balances are kept.
    private IReadOnlyDictionary<string, CachedCustomer>? _fromMemory;
    public Tenant Tenant { get; }
    public IReadOnlySet<string> Customers { get; private set; } = new HashSet<string>();
    public Dictionary<string, LockRecord> Locks { get; } = new(StringComparer.Ordinal);
    /// <summary>Ids of loaded locks whose status changed here (finalized or expired): written back after the batch.</summary>
    public HashSet<string> ChangedLocks { get; } = new(StringComparer.Ordinal);

    public void SetLock(LockRecord l)
    {
        Locks[l.Id] = l;
        ChangedLocks.Add(l.Id);
    }

    private BalanceBook(Tenant tenant) => Tenant = tenant;

    /// <summary>The features a batch asked for with every credit system (empty unless asked for).</summary>
    public IReadOnlyList<FeatureRecord> Features { get; private set; } = [];

    /// <summary>Usage records holding the idempotency keys a batch asked about (empty unless asked for).</summary>
    public IReadOnlyList<UsageRecord> KeyedUsage { get; private set; } = [];

    /// <param name="customersKnownToExist">The caller already loaded these customers (skips one query on the read path).</param>
    /// <param name="featureIds">Features whose definitions (with every credit system's) to load with the balances.</param>
    /// <param name="idempotencyKeys">Keys whose usage records to load with the balances.</param>
    /// <param name="lockCustomers">
    /// Lock the customers' rows as a read for update does (PostgreSQL), in the same round trip as the balances: a caller
    /// that would otherwise read the customer first only to find it live (a grant) saves that round trip.
    /// </param>
    public static async Task<BalanceBook> LoadAsync(IStoreSession s, Tenant tenant, IReadOnlyCollection<string> customerIds, IReadOnlyCollection<string> lockIds, bool forUpdate, DateTimeOffset now,
        bool customersKnownToExist = false, IReadOnlyCollection<string>? featureIds = null, IReadOnlyCollection<string>? idempotencyKeys = null,
        IReadOnlyDictionary<string, CachedCustomer>? cached = null, bool lockCustomers = false)
    {
        var book = new BalanceBook(tenant);
        var customers = new HashSet<string>(customerIds, StringComparer.Ordinal);
        if (lockIds.Count > 0)
        {
            foreach (var l in await s.Balances.LoadLocksAsync(tenant, lockIds))
            {
                book.Locks[l.Id] = l;
                customers.Add(l.CustomerId);
            }
        }
        if (customers.Count == 0) return book;
        // Customers the balance writer still has in memory (ADR 0021) come with their rows: the store loads the rest.
        var fromMemory = cached is null ? [] : customers.Where(cached.ContainsKey).Order(StringComparer.Ordinal).ToList();
        if (fromMemory.Count > 0) customers.ExceptWith(fromMemory);
        // Sorted: the header rows are locked in key order whatever order the caller gave.
        var ordered = customers.Order(StringComparer.Ordinal).ToList();
        BookRows rows;
        if (ordered.Count > 0)
        {
            rows = await s.Balances.LoadBookAsync(new BookQuery(tenant, ordered, forUpdate, now, customersKnownToExist,
                featureIds ?? [], idempotencyKeys ?? [], ByLockIds: lockIds.Count > 0, LockCustomers: lockCustomers));
        }
        else
        {
            // Every customer from memory: the features and stored answers are still read (a definition may change).
            rows = new BookRows(new HashSet<string>(StringComparer.Ordinal), [], [], [],
                featureIds is { Count: > 0 } ? await s.Balances.FeaturesWithCreditSystemsAsync(tenant, featureIds) : [], []);
        }
        var usage = rows.Usage;
        if (fromMemory.Count > 0 && idempotencyKeys is { Count: > 0 })
            usage = [.. usage, .. await s.Balances.LoadUsageByKeysAsync(tenant, fromMemory, idempotencyKeys)];
        var existing = new HashSet<string>(rows.Customers, StringComparer.Ordinal);
        existing.UnionWith(fromMemory);
        book.Customers = existing;
        book.Features = rows.Features;
        book.KeyedUsage = usage;
        book._fromMemory = cached;
        foreach (var id in fromMemory)
        {
            var entry = cached![id];
            foreach (var kept in entry.Balances)
            {
                var live = kept.ToLive();
                book._balances[(live.Header.CustomerId, live.Header.FeatureId, live.Header.EntityId)] = live;
            }
            foreach (var (feature, cap) in entry.SpendCaps) book._spendCaps[(id, feature)] = cap;
        }
        var headers = rows.Headers;
        var buckets = rows.Buckets.ToLookup(b => (b.CustomerId, b.FeatureId, b.EntityId));
        foreach (var h in headers)
        {
            var key = (h.CustomerId, h.FeatureId, h.EntityId);
            // The balance refuses duplicate ids, so the stored list needs no index of its own until one is asked for.
            var stored = buckets[key].ToList();
            book._balances[key] = new LiveBalance(h, new FeatureBalance(stored.Select(b => b.Bucket), h.Overage), stored);
        }
        // Spend caps matter only where overage is billed and priced: most batches skip the query.
        var priced = headers.Where(h => h.OveragePrice is not null && h.OveragePolicy == OveragePolicy.Billed).Select(h => h.CustomerId).Distinct().ToList();
        if (priced.Count > 0)
        {
            foreach (var cap in await s.SpendCaps.ForCustomersAsync(tenant, priced)) book._spendCaps[(cap.CustomerId, cap.FeatureId)] = cap.MaxOverageAmount;
        }
        foreach (var l in rows.HeldLocks)
        {
            book.Locks.TryAdd(l.Id, l);
            var key = (l.CustomerId, l.FeatureId, l.EntityId);
            if (!book._heldLocks.TryGetValue(key, out var list)) book._heldLocks[key] = list = [];
            list.Add(book.Locks[l.Id]);
        }
        return book;
    }

    public IEnumerable<LiveBalance> All => _balances.Values;

    /// <summary>Every balance grouped by customer, in one pass.</summary>
    public ILookup<string, LiveBalance> ByCustomer() => _balances.Values.ToLookup(l => l.Header.CustomerId, StringComparer.Ordinal);

    /// <summary>
    /// The customer's balances as the balance writer may keep them after its batch (ADR 0021), or null when memory
    /// is not exactly what the store now holds: a header or bucket not written as it is, a movement not drained,
    /// a held lock (locks are not kept). Called after the batch's writes; a null only costs a load next time.
    /// </summary>
    public CachedCustomer? ToCached(string customerId, IEnumerable<LiveBalance> balances)
    {
        // The entry the batch took, when it holds the same balances (the same header objects) and caps, is written back
        // in place: a keep then allocates nothing that outlives the request but a grant's row (what the GC copies on every
        // collection is its pause; KeptBalance).
        var before = _fromMemory?.GetValueOrDefault(customerId);
        var same = before is not null;
        var count = 0;
        foreach (var live in balances)
        {
            var h = live.Header;
            if (h.IsNew || h.Changed || h.Overage != live.Balance.Overage || live.Balance.Movements.Count > 0) return null;
            foreach (var b in live.Stored)
            {
                if (b.IsNew || b.Changed || b.Bucket.Held != 0) return null;
            }
            if (_heldLocks.TryGetValue((h.CustomerId, h.FeatureId, h.EntityId), out var held) && held.Count > 0) return null;
            same = same && count < before!.Balances.Count && ReferenceEquals(before.Balances[count].Header, h);
            count++;
        }
        var caps = _spendCaps.Where(kv => kv.Key.Customer == customerId).Select(kv => (kv.Key.Feature, kv.Value)).ToArray();
        if (same && count == before!.Balances.Count && caps.Length == before.SpendCaps.Count && caps.All(before.SpendCaps.Contains))
        {
            var i = 0;
            foreach (var live in balances) before.Balances[i++].Write(live);
            return before;
        }
        return new CachedCustomer([.. balances.Select(KeptBalance.From)], caps);
    }

    /// <summary>The customer's spend cap on the feature in minor units; loaded only for customers with a priced, billed overage.</summary>
    public long? SpendCap(string customerId, string featureId) => _spendCaps.TryGetValue((customerId, featureId), out var cap) ? cap : null;

    /// <summary>
    /// Overage of the period across every balance of the customer's feature (each entity's included),
    /// counting what live locks hold past zero: that is overage the moment they are confirmed.
    /// </summary>
    public long PeriodOverage(string customerId, string featureId)
    {
        long total = 0;
        foreach (var ((customer, feature, _), live) in _balances)
        {
            if (customer != customerId || feature != featureId) continue;
            total = checked(total + live.Balance.Overage);
        }
        foreach (var ((customer, feature, _), held) in _heldLocks)
        {
            if (customer != customerId || feature != featureId) continue;
            foreach (var l in held)
            {
                if (Locks[l.Id].Status != LockStatus.Held) continue;
                foreach (var part in l.Parts) if (part.BucketId is null) total = checked(total + part.Amount);
            }
        }
        return total;
    }

    public IEnumerable<LiveBalance> OfCustomer(string customerId) => _balances.Where(kv => kv.Key.Customer == customerId).Select(kv => kv.Value);

    /// <summary>The balance, brought up to date at <paramref name="now"/>; null when the customer has no such balance.</summary>
    public LiveBalance? Get(string customerId, string featureId, string entityId, DateTimeOffset now, Action<LiveBalance, LockRecord>? onLockExpired = null,
        Action<LiveBalance, StoredBucket>? onGrantExpired = null)
    {
        if (!_balances.TryGetValue((customerId, featureId, entityId), out var live)) return null;
        Maintain(live, now, onLockExpired, onGrantExpired);
        return live;
    }

    public void Add(LiveBalance live) => _balances[(live.Header.CustomerId, live.Header.FeatureId, live.Header.EntityId)] = live;

    /// <summary>Releases expired locks, resets a period that has ended (with rollover), records expired buckets.</summary>
    private void Maintain(LiveBalance live, DateTimeOffset now, Action<LiveBalance, LockRecord>? onLockExpired, Action<LiveBalance, StoredBucket>? onGrantExpired)
    {
        var h = live.Header;
        if (_heldLocks.TryGetValue((h.CustomerId, h.FeatureId, h.EntityId), out var held))
        {
            for (var i = held.Count - 1; i >= 0; i--)
            {
                var l = Locks[held[i].Id];
                if (l.Status != LockStatus.Held || l.ExpiresAt > now) continue;
                live.Balance.Release(l.Parts);
                var expired = l with { Status = LockStatus.Expired, Consumed = 0, FinalizedAt = now };
                SetLock(expired);
                held.RemoveAt(i);
                live.Touched = true;
                onLockExpired?.Invoke(live, expired);
            }
        }
        if (h.NextResetAt is { } due && due <= now && Periods.TryParse(h.Reset, out var interval))
        {
            var (start, end) = Periods.Containing(h.Anchor, interval, 1, now);
            long roll = 0;
            if (h.Rollover)
            {
                // Each allowance is within the quantity bound, so this sum of at most a few of them fits a long.
                var ended = live.Stored.Where(b => b.Bucket.Kind == BucketKind.Allowance && b.Bucket.ExpiresAt == start).Sum(b => Math.Max(0, b.Bucket.Remaining));
                roll = h.RolloverMax is { } max ? Math.Min(ended, max) : ended;
            }
            // Checked before anything changes: a reset whose rollover and new allowance would take the
            // granted total past the bound throws here (the operation is refused with quantity_overflow)
            // instead of leaving the period half reset.
            live.Balance.EnsureGrantRoom(checked(roll + h.Allowance), now);
            Expired(live, live.Balance.ExpireDue(now), onGrantExpired);
            if (roll > 0) live.Add(NewBucket(h, BucketKind.Rollover, roll, start, end, now));
            live.Balance.ResetOverage();
            if (h.Allowance > 0) live.Add(NewBucket(h, BucketKind.Allowance, h.Allowance, start, end, now));
            h.PeriodStart = start;
            h.NextResetAt = end;
            live.Touched = true;
        }
        var expiredParts = live.Balance.ExpireDue(now);
        if (expiredParts.Count > 0) live.Touched = true;
        Expired(live, expiredParts, onGrantExpired);
        // Released holds and buckets that became effective pay the period's overage first (spec §5:
        // remaining = granted − used − held). Unlimited balances keep their usage as overage by design.
        if (!h.Unlimited && live.Balance.SettleOverage(now) > 0) live.Touched = true;
    }

    private static void Expired(LiveBalance live, IReadOnlyList<Part> parts, Action<LiveBalance, StoredBucket>? onGrantExpired)
    {
        if (onGrantExpired is null) return;
        foreach (var part in parts)
        {
            if (part.BucketId is { } id && live.Buckets.TryGetValue(id, out var b) && b.Bucket.Kind == BucketKind.Grant) onGrantExpired(live, b);
        }
    }

    public static StoredBucket NewBucket(BalanceHeader h, BucketKind kind, long granted, DateTimeOffset start, DateTimeOffset? end, DateTimeOffset now) =>
        new()
        {
            AccountId = h.AccountId, Livemode = h.Livemode, CustomerId = h.CustomerId, FeatureId = h.FeatureId, EntityId = h.EntityId,
            Bucket = new Bucket(Ids.New(IdPrefixes.Bucket, now), kind, 0, GrantCategory.Promotional, granted, 0, 0, start, end, now),
            IsNew = true,
        };

    public void TrackHeld(LockRecord l)
    {
        Locks[l.Id] = l;
        var key = (l.CustomerId, l.FeatureId, l.EntityId);
        if (!_heldLocks.TryGetValue(key, out var list)) _heldLocks[key] = list = [];
        list.Add(l);
    }
}
