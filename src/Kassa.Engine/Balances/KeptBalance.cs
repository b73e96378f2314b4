using Kassa.Core.Balances;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>One customer's balances as the balance writer left them after a committed batch (ADR 0021).</summary>
public sealed class CachedCustomer(KeptBalance[] balances, (string FeatureId, long Cap)[] spendCaps)
{
    public IReadOnlyList<KeptBalance> Balances { get; } = balances;
    public IReadOnlyList<(string FeatureId, long Cap)> SpendCaps { get; } = spendCaps;

    /// <summary>
    /// The memory's key for this entry, set by its first keep (<see cref="BalanceCache.KeepAsync"/>) and used by every keep
    /// after. Why the entry carries it: a batch takes the entry out of the memory and puts it back, and a key made of the
    /// request's strings, written into the memory's old slot array, is a reference from an old object to a young one. Each
    /// is a card the next collection scans and a string it promotes: one a customer a batch, 3–6 ms of each pause under
    /// uniform checks and grants (bench/README.md, twenty-ninth session). The first keep's strings are old by the next.
    /// </summary>
    public (string AccountId, bool Livemode, string CustomerId)? Key { get; set; }
}

/// <summary>
/// One balance in the balance writer's memory (ADR 0021): its header object and its buckets as rows of plain numbers,
/// turned into a <see cref="LiveBalance"/> for each batch that takes it and written back after.
/// <para>
/// Rows rather than the batch's own <see cref="StoredBucket"/> and <see cref="Bucket"/> objects because of what the
/// GC does with what the memory keeps: every kept object is traced and copied when it is promoted (twice, gen0 to gen1
/// to gen2), and a collection's pause is that copy (~4 ms a promoted MB here; bench/README, twenty-fifth session).
/// Kept as objects, each grant left ~500 bytes in five objects behind for every collection to copy; as a row it
/// leaves ~100 bytes in an array without references, which the GC copies as one block and does not trace, and
/// its id string. The id strings are kept as they are: a bucket's id is made once, so it is old after its first
/// promotion and costs the GC nothing on the batches after.
/// </para>
/// Used only inside the store's write transaction, by one writer at a time (see <see cref="BalanceCache"/>).
/// </summary>
public sealed class KeptBalance
{
    private Row[] _rows;
    private string[] _ids;
    // Names and metadata are rare on buckets (a grant's own); their arrays exist only once one has some.
    private string?[]? _names;
    private string?[]? _metadata;

    private KeptBalance(BalanceHeader header, int capacity)
    {
        Header = header;
        _rows = new Row[capacity];
        _ids = new string[capacity];
    }

    /// <summary>The balance's header object itself (it changes in place and is written back by the batch).</summary>
    public BalanceHeader Header { get; }

    /// <summary>How many buckets are kept.</summary>
    public int Count { get; private set; }

    /// <summary>Keeps <paramref name="live"/>'s buckets as rows under its header.</summary>
    public static KeptBalance From(LiveBalance live)
    {
        var kept = new KeptBalance(live.Header, Math.Max(live.Balance.Buckets.Count, 1));
        kept.Write(live);
        return kept;
    }

    /// <summary>
    /// Overwrites the rows with <paramref name="live"/>'s buckets, in the balance's order; <paramref name="live"/> must have
    /// this header. Rows grow by doubling, so a balance that gains a bucket a batch reallocates once every doubling.
    /// </summary>
    public void Write(LiveBalance live)
    {
        if (!ReferenceEquals(live.Header, Header)) throw new InvalidOperationException("a kept balance is written only from a balance with its own header");
        var buckets = live.Balance.Buckets;
        var n = buckets.Count;
        if (n > _rows.Length)
        {
            var capacity = Math.Max(n, _rows.Length * 2);
            Array.Resize(ref _rows, capacity);
            Array.Resize(ref _ids, capacity);
            if (_names is not null) Array.Resize(ref _names, capacity);
            if (_metadata is not null) Array.Resize(ref _metadata, capacity);
        }
        for (var i = 0; i < n; i++)
        {
            var b = buckets[i];
            _rows[i] = new Row
            {
                Granted = b.Granted, Used = b.Used, Held = b.Held, EffectiveTicks = b.EffectiveAt.UtcTicks, ExpiresTicks = b.ExpiresAt?.UtcTicks ?? Row.Never,
                CreatedTicks = b.CreatedAt.UtcTicks, Priority = b.Priority, Kind = (byte)b.Kind, Category = (byte)b.Category, Voided = b.Voided,
                ExpiryRecorded = b.ExpiryRecorded,
            };
            // Not stored again when it is the same string: a reference written into an old array is a card the next GC scans.
            if (!ReferenceEquals(_ids[i], b.Id)) _ids[i] = b.Id;
            // The stored buckets are in the balance's order (LiveBalance.Stored); by id only if that ever differs.
            var stored = i < live.Stored.Count && ReferenceEquals(live.Stored[i].Bucket, b) ? live.Stored[i] : live.Buckets[b.Id];
            if (stored.Name is not null || _names is not null) Set(ref _names, i, stored.Name);
            if (stored.Metadata is not null || _metadata is not null) Set(ref _metadata, i, stored.Metadata);
        }
        // Past the count: nothing kept alive by rows no longer used.
        Array.Clear(_ids, n, Count > n ? Count - n : 0);
        if (_names is not null && Count > n) Array.Clear(_names, n, Count - n);
        if (_metadata is not null && Count > n) Array.Clear(_metadata, n, Count - n);
        Count = n;
    }

    private void Set(ref string?[]? column, int i, string? value)
    {
        column ??= new string?[_rows.Length];
        if (!ReferenceEquals(column[i], value)) column[i] = value;
    }

    /// <summary>A balance for a batch: new bucket objects with the kept numbers, the header object itself, loaded as the store last wrote them.</summary>
    public LiveBalance ToLive()
    {
        var h = Header;
        var stored = new List<StoredBucket>(Count);
        var buckets = new Bucket[Count];
        for (var i = 0; i < Count; i++)
        {
            ref readonly var r = ref _rows[i];
            var bucket = new Bucket(_ids[i], (BucketKind)r.Kind, r.Priority, (GrantCategory)r.Category, r.Granted, r.Used, r.Held, Row.At(r.EffectiveTicks),
                r.ExpiresTicks == Row.Never ? null : Row.At(r.ExpiresTicks), Row.At(r.CreatedTicks), r.Voided)
            {
                ExpiryRecorded = r.ExpiryRecorded,
            };
            buckets[i] = bucket;
            var kept = new StoredBucket
            {
                AccountId = h.AccountId, Livemode = h.Livemode, CustomerId = h.CustomerId, FeatureId = h.FeatureId, EntityId = h.EntityId,
                Bucket = bucket, Name = _names?[i], Metadata = _metadata?[i],
            };
            // The rows are what the batch that kept them wrote.
            kept.MarkStored();
            stored.Add(kept);
        }
        // Restored, not constructed: the ids are the ones a balance already held, so neither side hashes them.
        return new LiveBalance(h, FeatureBalance.Restore(buckets, h.Overage), stored);
    }

    /// <summary>
    /// Whether the store's bucket load at <paramref name="now"/> would give these rows: it leaves out voided buckets and
    /// expired ones recorded and holding nothing.
    /// </summary>
    public bool LoadWouldMatch(DateTimeOffset now)
    {
        for (var i = 0; i < Count; i++)
        {
            ref readonly var r = ref _rows[i];
            if (r.Voided || (r.ExpiresTicks != Row.Never && r.ExpiresTicks <= now.UtcTicks && r.ExpiryRecorded && r.Held == 0)) return false;
        }
        return true;
    }

    /// <summary>
    /// A bucket's numbers: no references, so an array of them is one block to the GC. Times as UTC ticks and the two
    /// enums as bytes: 56 bytes a row instead of 120 with DateTimeOffsets, and a batch that takes a customer of tens of
    /// buckets reads every row of it. A time comes back in UTC, as a load from the store gives it (the same instant).
    /// </summary>
    private struct Row
    {
        /// <summary><see cref="ExpiresTicks"/> of a bucket that never expires (UTC ticks are never negative).</summary>
        public const long Never = -1;

        public long Granted;
        public long Used;
        public long Held;
        public long EffectiveTicks;
        public long ExpiresTicks;
        public long CreatedTicks;
        public int Priority;
        public byte Kind;
        public byte Category;
        public bool Voided;
        public bool ExpiryRecorded;

        public static DateTimeOffset At(long utcTicks) => new(utcTicks, TimeSpan.Zero);
    }
}
