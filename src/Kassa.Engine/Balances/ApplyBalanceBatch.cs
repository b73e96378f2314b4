using System.Text.Json;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Pricing;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// Decides a batch of balance operations in one transaction (design §4): load the balances of every
/// customer involved in a few queries (locked in key order on PostgreSQL), decide each operation in
/// arrival order in memory, then write every change at once. The caller commits and only then
/// completes the operations. Re-runnable: a transaction retried after a deadlock decides again
/// from what it reads.
/// </summary>
public static partial class ApplyBalanceBatch
{
    public static readonly TimeSpan LockTtlDefault = TimeSpan.FromMinutes(10);

    /// <summary>How long a track or check idempotency_key is remembered per customer (spec §5.2).</summary>
    public static readonly TimeSpan IdempotencyRetention = TimeSpan.FromDays(30);

    internal sealed class Writes
    {
        public List<UsageRecord> Usage { get; } = [];
        public List<CreditTransactionRecord> Transactions { get; } = [];
        public List<LockRecord> NewLocks { get; } = [];
        /// <summary>Usage records whose key is past retention and is being used again: their key is released first.</summary>
        public List<UsageRecord> ExpiredKeys { get; } = [];
        public List<(Tenant Tenant, string Type, string ObjectType, string ObjectId, object Resource, string RequestId, DateTimeOffset Now)> Events { get; } = [];
    }

    /// <param name="beforeWrite">Runs once every operation is decided, before the first write (a fault point for tests).</param>
    /// <param name="cache">The balance writer's memory of what it wrote (ADR 0021, SQLite); null loads every customer from the store.</param>
    public static async Task Execute(IStoreSession s, IReadOnlyList<BalanceOp> ops, Action? beforeWrite = null, BalanceCache? cache = null)
    {
        var writes = new Writes();
        var books = new List<BalanceBook>();
        // Books of a test clock's customers: loaded and never kept (their time is the clock's, not the batch's).
        var clockBooks = new List<BalanceBook>();
        if (cache is not null) await cache.BeginAsync(s);
        var phases = new BatchPhases(GroupCommitLoop.Balances);
        // Tenants in a fixed order, customers sorted within each: every batch on every node takes its
        // row locks in one global order, so concurrent batches wait for each other but never deadlock.
        // A test clock's customers are loaded apart, at the clock's time; the order (tenant, clock, customer)
        // is still one global order.
        foreach (var byClock in ops.GroupBy(o => (o.Tenant, o.ClockId)).OrderBy(g => g.Key.Tenant.AccountId, StringComparer.Ordinal)
                     .ThenBy(g => g.Key.Tenant.Livemode).ThenBy(g => g.Key.ClockId, StringComparer.Ordinal))
        {
            var group = byClock.GroupBy(o => o.Tenant).Single();
            var loadStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var tenantOps = group.ToList();
            var now = tenantOps.Max(o => o.Now);
            var customers = tenantOps.Select(o => o.CustomerId).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
            var lockIds = tenantOps.Select(o => o switch { FinalizeLockOp f => f.LockId, ExpireLockOp e => e.LockId, _ => null }).OfType<string>().Distinct().ToList();
            // Maintenance only: no features to load, no idempotency keys.
            var featureIds = tenantOps.Select(o => o switch { CheckOp c => c.FeatureId, TrackOp t => t.FeatureId, _ => null }).OfType<string>().Distinct().ToList();
            var keys = tenantOps.Select(o => o switch { CheckOp c => c.IdempotencyKey, TrackOp t => t.IdempotencyKey, _ => null }).OfType<string>().Distinct().ToList();
            // Balances, features and stored answers in one load (one round trip on PostgreSQL).
            var remembered = cache is not null && byClock.Key.ClockId is null ? cache.Take(group.Key, customers, now) : null;
            var book = await BalanceBook.LoadAsync(s, group.Key, customers, lockIds, forUpdate: true, now, featureIds: featureIds, idempotencyKeys: keys,
                cached: remembered);
            books.Add(book);
            if (byClock.Key.ClockId is not null) clockBooks.Add(book);
            var loaded = book.Features;
            var features = loaded.Where(f => featureIds.Contains(f.Id)).ToDictionary(f => f.Id, StringComparer.Ordinal);
            var creditSystems = loaded.Where(IsCreditSystem).ToList();
            // Keys are looked up for the batch's own customers (a finalized lock's customer has no key to match).
            var stored = book.KeyedUsage.Where(u => customers.Contains(u.CustomerId)).ToList();
            var cutoff = now - IdempotencyRetention;
            writes.ExpiredKeys.AddRange(stored.Where(u => u.CreatedAt <= cutoff));
            var seen = stored.Where(u => u.Response is not null && u.CreatedAt > cutoff)
                .ToDictionary(u => (u.CustomerId, u.IdempotencyKey!), u => u.Response!);

            var decideStarted = phases.AddLoad(loadStarted);
            var decider = new Decider(book, features, creditSystems, seen, writes);
            foreach (var op in tenantOps) decider.Apply(op);
            phases.AddDecide(decideStarted);
        }
        // Checked before anything is written: an operation left undecided is a bug that must fail the
        // transaction while it can still roll back, never surface after the commit.
        foreach (var op in ops)
        {
            if (!op.IsDecided) throw new InvalidOperationException($"balance operation {op.GetType().Name} of request {op.RequestId} was left undecided");
        }
        beforeWrite?.Invoke();
        var persistStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        await Persist(s, books, writes, ops.Max(o => o.Now));
        if (cache is not null)
        {
            foreach (var book in clockBooks) cache.Forget(book.Tenant, book.Customers);
            await cache.KeepAsync(s, books.Except(clockBooks), writes.NewLocks.Select(l => l.CustomerId).ToHashSet(StringComparer.Ordinal));
        }
        phases.AddPersist(persistStarted);
        phases.Record();
    }

    /// <summary>
    /// Decides a check that changes nothing (no send_event, no lock) from a read session, with the same
    /// rules as a batch: nothing is written, and no queue or lock is involved.
    /// </summary>
    public static async Task<CheckResponse> CheckReadOnly(IStoreSession s, CheckOp op)
    {
        await DecideReadOnlyChecks(s, [op]);
        return op.Decision!.Value.Value;
    }

    /// <summary>
    /// Decides many checks that change nothing in one read (<see cref="ReadOnlyCheckQueue"/>): one book a tenant and
    /// clock, loaded for all their customers and features at once (one round trip on PostgreSQL), each check decided
    /// by the same rules as a batch's checks and left in its <see cref="BalanceOp{T}.Decision"/>. A read-only
    /// check changes neither the book nor the store, so the checks of one customer see what each alone would see.
    /// </summary>
    public static async Task DecideReadOnlyChecks(IStoreSession s, IReadOnlyList<CheckOp> ops)
    {
        foreach (var group in ops.GroupBy(o => (o.Tenant, o.ClockId)))
        {
            var checks = group.ToList();
            var customers = checks.Select(o => o.CustomerId).Distinct().Order(StringComparer.Ordinal).ToList();
            var featureIds = checks.Select(o => o.FeatureId).Distinct().ToList();
            var book = await BalanceBook.LoadAsync(s, group.Key.Tenant, customers, [], forUpdate: false, checks.Max(o => o.Now), featureIds: featureIds);
            var loaded = book.Features;
            var features = loaded.Where(f => featureIds.Contains(f.Id)).ToDictionary(f => f.Id, StringComparer.Ordinal);
            var decider = new Decider(book, features, loaded.Where(IsCreditSystem).ToList(), new Dictionary<(string, string), string>(), new Writes());
            foreach (var op in checks) decider.Apply(op);
        }
    }

    // Catalog rows keep the feature type as text; it is read as the vocabulary's enum here, once per feature.
    private static bool IsCreditSystem(FeatureRecord f) => BalanceWords.TryParse<FeatureType>(f.Type, out var type) && type == FeatureType.CreditSystem;

    private static async Task Persist(IStoreSession s, List<BalanceBook> books, Writes writes, DateTimeOffset now)
    {
        var headers = new List<BalanceHeader>();
        var buckets = new List<StoredBucket>();
        var updatedLocks = new List<LockRecord>();
        foreach (var book in books)
        {
            foreach (var live in book.All.Where(l => l.Touched))
            {
                // Movements no operation logged (a reset or expiry found by a denied check, say) still reach the log.
                writes.Transactions.AddRange(BalanceWrites.Drain(live, now, "maintenance", null));
                live.Header.Overage = live.Balance.Overage;
                if (live.Header.Changed)
                {
                    live.Header.Version++;
                    headers.Add(live.Header);
                }
                buckets.AddRange(live.Stored.Where(b => b.IsNew || b.Changed));
            }
            updatedLocks.AddRange(book.ChangedLocks.Select(id => book.Locks[id]));
        }
        // One round trip for all of it on PostgreSQL (a batch is at most BalanceEngine.BatchSizeMax operations), and
        // that one is the COMMIT's: nothing later in the batch's transaction reads these rows back (the events, the
        // answers' idempotency records and the group-commit marker go to other tables), so they are held and sent
        // with it. A hot customer's batches follow each other through load, writes and commit, so one round trip
        // fewer is a shorter chain (ADR 0005 addendum). A write that fails there fails the COMMIT; the group commit
        // then finds the batch rolled back by its marker and runs each operation alone.
        await s.Balances.WriteTogetherAsync(async () =>
        {
            if (headers.Count > 0) await s.Balances.SaveHeadersAsync(headers);
            if (buckets.Count > 0) await s.Balances.SaveBucketsAsync(buckets);
            if (writes.NewLocks.Count > 0) await s.Balances.InsertLocksAsync(writes.NewLocks);
            if (updatedLocks.Count > 0) await s.Balances.UpdateLocksAsync(updatedLocks);
            if (writes.ExpiredKeys.Count > 0) await s.Balances.ReleaseIdempotencyKeysAsync(writes.ExpiredKeys);
            if (writes.Usage.Count > 0) await s.Balances.InsertUsageAsync(writes.Usage);
            if (writes.Transactions.Count > 0) await s.Balances.InsertTransactionsAsync(writes.Transactions);
        }, deferred: true);
        foreach (var e in writes.Events)
            await EmitEvent.Execute(s, new OperationContext(e.Tenant, Actor.System, e.RequestId, e.Now), e.Type, e.ObjectType, e.ObjectId, e.Resource);
    }

    /// <summary>
    /// Decides operations one at a time against the book, in arrival order. The decisions of check,
    /// track and lock finalization live with their use cases (<see cref="Balances.Check"/>,
    /// <see cref="Balances.Track"/>, <see cref="FinalizeLock"/>); this part holds what they share.
    /// </summary>
    private sealed partial class Decider(
        BalanceBook book, Dictionary<string, FeatureRecord> features, IReadOnlyList<FeatureRecord> creditSystems,
        Dictionary<(string, string), string> seen, Writes writes)
    {
        private readonly BalanceBook book = book;
        private readonly Dictionary<string, FeatureRecord> features = features;
        private readonly IReadOnlyList<FeatureRecord> creditSystems = creditSystems;
        private readonly Dictionary<(string, string), string> seen = seen;
        private readonly Writes writes = writes;

        /// <summary>
        /// Decides one operation. A total that would pass the quantity bound is that operation's
        /// decision (<c>quantity_overflow</c>), never a throw: a throw would fail the whole batch's
        /// transaction. The balance core refuses before it changes anything, so the book stays exact
        /// and nothing of the refused operation is written.
        /// </summary>
        public void Apply(BalanceOp op)
        {
            try
            {
                switch (op)
                {
                    case CheckOp c: c.Decision = Check(c); break;
                    case TrackOp t: t.Decision = Track(t); break;
                    case FinalizeLockOp f: f.Decision = Finalize(f); break;
                    case ExpireLockOp e: e.Decision = Expire(e); break;
                    case MaintainOp m: m.Decision = Maintain(m); break;
                }
            }
            catch (OverflowException e)
            {
                op.Refuse(new KassaError(ErrorCodes.QuantityOverflow, e is BalanceOverflowException ? e.Message : BalanceOverflowException.DefaultMessage));
            }
        }

        /// <summary>The balance a feature draws on: its own, or a credit system's whose schema names it (with the cost per unit).</summary>
        private (LiveBalance Live, decimal Cost)? Resolve(string customerId, string featureId, string entityId, DateTimeOffset now) =>
            ResolveAt(customerId, featureId, entityId, now)
            // A feature that is not per entity is the customer's, whichever entity asks.
            ?? (entityId.Length > 0 ? ResolveAt(customerId, featureId, "", now) : null);

        private (LiveBalance Live, decimal Cost)? ResolveAt(string customerId, string featureId, string entityId, DateTimeOffset now)
        {
            if (book.Get(customerId, featureId, entityId, now, OnLockExpired, OnGrantExpired) is { } own) return (own, 1m);
            foreach (var cs in creditSystems)
            {
                var entry = cs.CreditSchema?.FirstOrDefault(e => e.FeatureId == featureId);
                if (entry?.CreditCost is not { } cost) continue;
                if (book.Get(customerId, cs.Id, entityId, now, OnLockExpired, OnGrantExpired) is { } credits) return (credits, cost);
            }
            return null;
        }

        private void OnGrantExpired(LiveBalance live, StoredBucket grant) =>
            writes.Events.Add((book.Tenant, EventTypes.CreditGrantExpired, "credit_grant", grant.Bucket.Id, CreditGrantResource.From(grant), "req_system",
                grant.Bucket.ExpiresAt ?? DateTimeOffset.UnixEpoch));

        /// <summary>Brings every balance of the customer up to date and logs what that changed.</summary>
        private Result<bool> Maintain(MaintainOp op)
        {
            var changed = false;
            foreach (var live in book.OfCustomer(op.CustomerId).ToList())
            {
                var current = book.Get(live.Header.CustomerId, live.Header.FeatureId, live.Header.EntityId, op.Now, OnLockExpired, OnGrantExpired)!;
                if (current.Balance.Movements.Count == 0) continue;
                Log(current, op.Now, "maintenance", op.RequestId);
                changed = true;
            }
            return changed;
        }

        private void OnLockExpired(LiveBalance live, LockRecord l) =>
            writes.Events.Add((book.Tenant, EventTypes.LockExpired, "lock", l.Id, new LockView(l.Id, l.Status, Micro.ToDecimal(l.Held), 0), "req_system", l.FinalizedAt ?? l.ExpiresAt));

        /// <summary>Units of a feature in units of the balance it draws on; past the bound it throws (decided as quantity_overflow).</summary>
        private static long Scale(long amount, decimal cost)
        {
            if (cost == 1m) return amount;
            var scaled = decimal.Round(amount * cost, 0, MidpointRounding.AwayFromZero);
            return scaled <= Micro.MaxAbs ? (long)scaled : throw new BalanceOverflowException();
        }

        private Result<bool> Expire(ExpireLockOp op)
        {
            if (!book.Locks.TryGetValue(op.LockId, out var l)) return false;
            book.Get(l.CustomerId, l.FeatureId, l.EntityId, op.Now, OnLockExpired, OnGrantExpired);
            return book.Locks[op.LockId].Status == LockStatus.Expired;
        }

        private static void Consume(LiveBalance live, long amount, DateTimeOffset now)
        {
            // An unlimited balance has no allowance bucket, so its usage lands in the overage column,
            // which LiveBalance.View reports as used (nothing past zero is billed for unlimited).
            live.Balance.Consume(amount, now);
            live.Touched = true;
        }

        /// <summary>
        /// A keyed check's or track's usage record: the idempotency key's claim and first answer, read back
        /// only by that key (spec §5.2). A keyless operation stores none (ADR 0016).
        /// </summary>
        private void RecordKeyed<T>(string? key, string usageId, string customerId, string featureId, string entityId, long value,
            DateTimeOffset occurredAt, DateTimeOffset now, T response)
        {
            if (key is null) return;
            var json = JsonSerializer.Serialize(response, KassaJson.Options);
            writes.Usage.Add(new UsageRecord(book.Tenant.AccountId, book.Tenant.Livemode, usageId, customerId, featureId, entityId, value, key, json, occurredAt, now));
            seen[(customerId, key)] = json;
        }

        /// <summary>Turns the balance's movements since the last call into credit transactions with the balance after them.</summary>
        private void Log(LiveBalance live, DateTimeOffset now, string sourceType, string sourceId)
        {
            live.Touched = true;
            writes.Transactions.AddRange(BalanceWrites.Drain(live, now, sourceType, sourceId));
        }

        /// <summary>
        /// Events for a balance an operation lowered: <c>balance.low</c> when remaining crossed below the
        /// feature's threshold, <c>entitlement.exhausted</c> when it reached zero. Once per crossing.
        /// </summary>
        private void Exhausted(LiveBalance live, long before, DateTimeOffset now, string requestId)
        {
            if (live.Header.Unlimited) return;
            var after = live.Remaining(now);
            var feature = features.GetValueOrDefault(live.Header.FeatureId) ?? creditSystems.FirstOrDefault(f => f.Id == live.Header.FeatureId);
            if (feature?.LowBalanceThreshold is { } threshold && before >= threshold && after < threshold)
                writes.Events.Add((book.Tenant, EventTypes.BalanceLow, "customer", live.Header.CustomerId, live.View(now), requestId, now));
            if (before > 0 && after <= 0)
                writes.Events.Add((book.Tenant, EventTypes.EntitlementExhausted, "customer", live.Header.CustomerId, live.View(now), requestId, now));
        }
    }
}
