namespace Kassa.Core.Balances;

/// <summary>
/// One customer's balance of one feature: its buckets, the overage of the current period and the
/// movements made since it was built. Pure and single-threaded: time is passed in, nothing is
/// read or written outside the object, and the caller persists <see cref="Buckets"/>,
/// <see cref="Overage"/> and <see cref="Movements"/>.
/// <para>
/// Conservation: a bucket's <c>Granted</c> changes only when it is voided (what is left is removed,
/// recorded as <see cref="MovementType.Void"/>); every other operation moves units between
/// remaining, held and used, or to and from <see cref="Overage"/>.
/// </para>
/// <para>
/// Amounts are micro-units. Every amount argument must be ≥ 0 (<see cref="ArgumentOutOfRangeException"/>
/// otherwise); an amount of 0 is accepted and changes nothing, so a quantity scaled down to nothing
/// (a credit cost rounding to 0) cannot fail a batch.
/// </para>
/// <para>
/// Totals stay within <see cref="Micro.MaxAbs"/>: the granted total of the buckets still in play and
/// the period's usage (usable buckets' <c>Used</c> plus <see cref="Overage"/>) are never allowed past
/// it, so every sum this class or a caller forms from them fits a <see cref="long"/>. An operation that
/// would pass the bound throws <see cref="BalanceOverflowException"/> (an <see cref="OverflowException"/>)
/// <em>before</em> it changes anything, so the caller can refuse that one operation and keep the
/// balance exact; the balance engine decides it as <c>quantity_overflow</c>.
/// </para>
/// </summary>
public sealed class FeatureBalance
{
    private readonly List<Bucket> _buckets = [];
    // By id, for the operations that name a bucket (release, confirm, void, find). A balance restored from the balance
    // writer's memory builds it only when one of those runs: most batches over it never look a bucket up by id.
    private Dictionary<string, Bucket>? _byId;
    private readonly List<Movement> _movements = [];

    /// <summary>
    /// Builds a balance from stored buckets (not recorded as movements: they are already in the log)
    /// and the stored overage (≥ 0). Throws <see cref="ArgumentException"/> on duplicate bucket ids.
    /// </summary>
    public FeatureBalance(IEnumerable<Bucket> buckets, long overage)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentOutOfRangeException.ThrowIfNegative(overage);
        _byId = new Dictionary<string, Bucket>(StringComparer.Ordinal);
        if (buckets.TryGetNonEnumeratedCount(out var count))
        {
            _buckets.Capacity = count;
            _byId.EnsureCapacity(count);
        }
        foreach (var bucket in buckets) Insert(bucket);
        Overage = overage;
        Buckets = _buckets.AsReadOnly();
        Movements = _movements.AsReadOnly();
    }

    private FeatureBalance(Bucket[] buckets, long overage)
    {
        _buckets.AddRange(buckets);
        Overage = overage;
        Buckets = _buckets.AsReadOnly();
        Movements = _movements.AsReadOnly();
    }

    /// <summary>
    /// A balance again from the buckets and overage of one built and checked before (the balance writer's memory,
    /// rebuilt for every batch that takes it): their ids are known to be distinct, so the index by id is built only
    /// when an operation names a bucket. For a balance of tens of buckets, hashing every id on every rebuild was a
    /// good part of it. Throws <see cref="ArgumentException"/> on a null bucket or a negative overage, and the first
    /// lookup by id throws <see cref="InvalidOperationException"/> if two ids were the same after all.
    /// </summary>
    public static FeatureBalance Restore(Bucket[] buckets, long overage)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        ArgumentOutOfRangeException.ThrowIfNegative(overage);
        foreach (var bucket in buckets) ArgumentNullException.ThrowIfNull(bucket, nameof(buckets));
        return new FeatureBalance(buckets, overage);
    }

    /// <summary>The index by id; a restored balance builds it from its buckets on first use.</summary>
    private Dictionary<string, Bucket> ById()
    {
        if (_byId is { } built) return built;
        var index = new Dictionary<string, Bucket>(_buckets.Count, StringComparer.Ordinal);
        foreach (var bucket in _buckets)
        {
            if (!index.TryAdd(bucket.Id, bucket)) throw new InvalidOperationException($"Duplicate bucket id '{bucket.Id}' in a restored balance.");
        }
        return _byId = index;
    }

    /// <summary>Every bucket, usable or not, in the order they were loaded or added.</summary>
    public IReadOnlyList<Bucket> Buckets { get; }

    /// <summary>Usage past every bucket this period, in micro-units (≥ 0); cleared by <see cref="ResetOverage"/>.</summary>
    public long Overage { get; private set; }

    /// <summary>Every change since construction (or the last <see cref="ClearMovements"/>), in order; the engine persists them.</summary>
    public IReadOnlyList<Movement> Movements { get; }

    /// <summary>Forgets the recorded movements (after the caller has persisted them).</summary>
    public void ClearMovements() => _movements.Clear();

    /// <summary>The bucket with this id (ordinal), or null.</summary>
    public Bucket? Find(string bucketId) => ById().GetValueOrDefault(bucketId);

    /// <summary>Sum of <c>Granted</c> over the buckets usable at <paramref name="now"/>.</summary>
    public long Granted(DateTimeOffset now) => Sum(now, b => b.Granted);

    /// <summary>Sum of <c>Used</c> over the buckets usable at <paramref name="now"/> (overage excluded; see <see cref="Usage"/>).</summary>
    public long Used(DateTimeOffset now) => Sum(now, b => b.Used);

    /// <summary>
    /// The period's whole usage at <paramref name="now"/>: the usable buckets' <c>Used</c> plus
    /// <see cref="Overage"/>. What the API reports as <c>used</c> (spec §5) and what
    /// <see cref="SetUsed"/> sets.
    /// </summary>
    public long Usage(DateTimeOffset now) => checked(Used(now) + Overage);

    /// <summary>Sum of <c>Held</c> over the buckets usable at <paramref name="now"/>.</summary>
    public long Held(DateTimeOffset now) => Sum(now, b => b.Held);

    /// <summary>Sum of the usable buckets' <c>Remaining</c> at <paramref name="now"/> (≥ 0).</summary>
    public long Remaining(DateTimeOffset now) => Sum(now, Available);

    /// <summary>
    /// The buckets usable at <paramref name="now"/>, in burn-down order (<see cref="BurnDown.Compare"/>),
    /// including those with nothing remaining: reverse burn order over the same list is what
    /// corrections give usage back in, and callers that only want what can be taken filter on
    /// <c>Remaining &gt; 0</c>.
    /// </summary>
    public IReadOnlyList<Bucket> BurnOrder(DateTimeOffset now)
    {
        var usable = _buckets.Where(b => b.IsUsable(now)).ToList();
        usable.Sort(BurnDown.Comparer);
        return usable;
    }

    /// <summary>
    /// Takes <paramref name="amount"/> from the usable buckets in burn order; what they cannot cover
    /// becomes overage. Never refuses. Returns the parts taken, in burn order, with the overage part
    /// (BucketId null) last. Records one <see cref="MovementType.Consume"/> per part.
    /// </summary>
    public IReadOnlyList<Part> Consume(long amount, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        EnsureUsageRoom(amount, now);
        return Take(amount, now, MovementType.Consume);
    }

    /// <summary>
    /// Holds <paramref name="amount"/>: moves it from remaining to held on the usable buckets in burn
    /// order. When they cannot cover it all: with <paramref name="allowOverage"/> the rest is an
    /// overage part (BucketId null, last) that nothing stores until the hold is confirmed; without it,
    /// returns null and changes nothing (no movements either). Records one
    /// <see cref="MovementType.Hold"/> per part, the overage part included, so the log shows the
    /// whole amount of the lock.
    /// </summary>
    public IReadOnlyList<Part>? TryHold(long amount, DateTimeOffset now, bool allowOverage)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        // What is held is consumed on confirm: refuse now a hold that could never be confirmed.
        EnsureUsageRoom(amount, now);
        // Plan first, apply after: a refusal must leave every bucket exactly as it was.
        var plan = new List<(Bucket Bucket, long Take)>();
        var left = amount;
        foreach (var bucket in BurnOrder(now))
        {
            if (left == 0) break;
            var take = Math.Min(left, Available(bucket));
            if (take == 0) continue;
            plan.Add((bucket, take));
            left -= take;
        }
        if (left > 0 && !allowOverage) return null;

        var parts = new List<Part>(plan.Count + 1);
        foreach (var (bucket, take) in plan)
        {
            bucket.Held = checked(bucket.Held + take);
            parts.Add(new Part(bucket.Id, take));
            Record(MovementType.Hold, bucket.Id, take);
        }
        if (left > 0)
        {
            parts.Add(new Part(null, left));
            Record(MovementType.Hold, null, left);
        }
        return parts;
    }

    /// <summary>
    /// Returns held parts (as <see cref="TryHold"/> made them) to their buckets: held → remaining,
    /// never more than the bucket still holds. Parts whose bucket no longer exists are ignored. An
    /// overage part changes nothing stored (it was never on a bucket) but is recorded as a
    /// <see cref="MovementType.Release"/> with BucketId null, mirroring its Hold. A part returning to
    /// a voided bucket is voided at once (the void removed what is left, and this is left); one
    /// returning to a bucket whose expiry was already recorded is recorded as expired at once.
    /// </summary>
    public void Release(IReadOnlyList<Part> holds)
    {
        ArgumentNullException.ThrowIfNull(holds);
        foreach (var part in holds)
        {
            if (part.Amount <= 0) continue;
            if (part.BucketId is null)
            {
                Record(MovementType.Release, null, part.Amount);
                continue;
            }
            if (!ById().TryGetValue(part.BucketId, out var bucket)) continue;
            ReturnHeld(bucket, Math.Min(part.Amount, bucket.Held));
        }
    }

    /// <summary>
    /// Confirms a lock: of the held parts, <paramref name="consume"/> (≥ 0) becomes used in hold order
    /// (bucket parts first, in their order, then the overage part, which adds to
    /// <see cref="Overage"/>); the rest of the hold is released as by <see cref="Release"/>. When
    /// <paramref name="consume"/> exceeds what is still held (a bucket part whose bucket no longer
    /// exists counts as not held), the excess is <see cref="Consume"/>d at <paramref name="now"/>,
    /// possibly into overage. A held part is consumed from its bucket even if the bucket has since
    /// expired or been voided: the units were reserved before that. Returns the parts consumed, one
    /// per bucket (amounts merged), in the order first taken, with the overage part last. Records
    /// Consume and Release movements.
    /// </summary>
    public IReadOnlyList<Part> Confirm(IReadOnlyList<Part> holds, long consume, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(holds);
        ArgumentOutOfRangeException.ThrowIfNegative(consume);
        EnsureUsageRoom(consume, now);
        var consumed = new List<Part>();
        var left = consume;
        long overageHeld = 0;
        foreach (var part in holds)
        {
            if (part.Amount <= 0) continue;
            if (part.BucketId is null)
            {
                overageHeld = checked(overageHeld + part.Amount);
                continue;
            }
            // A vanished bucket took its hold with it; what it would have covered is consumed afresh below.
            if (!ById().TryGetValue(part.BucketId, out var bucket)) continue;
            var held = Math.Min(part.Amount, bucket.Held);
            var use = Math.Min(held, left);
            if (use > 0)
            {
                bucket.Held -= use;
                bucket.Used = checked(bucket.Used + use);
                left -= use;
                consumed.Add(new Part(bucket.Id, use));
                Record(MovementType.Consume, bucket.Id, use);
            }
            ReturnHeld(bucket, held - use);
        }

        var fromOverage = Math.Min(overageHeld, left);
        if (fromOverage > 0)
        {
            Overage = checked(Overage + fromOverage);
            left -= fromOverage;
            consumed.Add(new Part(null, fromOverage));
            Record(MovementType.Consume, null, fromOverage);
        }
        if (overageHeld - fromOverage > 0) Record(MovementType.Release, null, overageHeld - fromOverage);

        if (left > 0) consumed.AddRange(Take(left, now, MovementType.Consume));
        return Merge(consumed);
    }

    /// <summary>
    /// A negative usage correction of <paramref name="amount"/>: first reduces <see cref="Overage"/>
    /// (usage past zero is the most recent), then gives usage back to buckets in reverse burn order —
    /// the usable buckets with <c>Used &gt; 0</c> first, then buckets not usable at
    /// <paramref name="now"/> (expired, not yet effective) that are not voided — never making
    /// <c>Used</c> negative. Usage returned to a bucket whose expiry was already recorded is recorded
    /// as expired at once. Returns what was returned, in the order applied (the overage part, BucketId
    /// null, first); the total is less than <paramref name="amount"/> when there is not that much
    /// usage. Records <see cref="MovementType.Adjust"/> movements.
    /// </summary>
    public IReadOnlyList<Part> Correct(long amount, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var usable = BurnOrder(now);
        var dormant = _buckets.Where(b => !b.Voided && !b.IsUsable(now)).ToList();
        dormant.Sort(BurnDown.Comparer);
        return GiveBack(amount, usable.Reverse().Concat(Enumerable.Reverse(dormant)));
    }

    /// <summary>
    /// Adds a new bucket (a grant, an allowance, a rollover). Records a <see cref="MovementType.Grant"/>
    /// for its <c>Granted</c> amount (none when it is 0). Throws <see cref="ArgumentException"/> when a
    /// bucket with the same id exists.
    /// </summary>
    public void Add(Bucket bucket)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        EnsureGrantRoom(bucket.Granted, null);
        Insert(bucket);
        if (bucket.Granted > 0) Record(MovementType.Grant, bucket.Id, bucket.Granted);
    }

    /// <summary>
    /// Voids a bucket: its remaining is removed (<c>Granted</c> reduced to <c>Used + Held</c>) and it
    /// is marked voided; what was used stays used, and what is held stays with its locks (released
    /// later, it is voided too). Returns the amount removed and records it as a
    /// <see cref="MovementType.Void"/>. Voiding a voided bucket returns 0. A bucket whose expiry was
    /// already recorded is marked voided but keeps its numbers and returns 0: its remaining already
    /// left the balance as expired. Throws <see cref="KeyNotFoundException"/> for an unknown id.
    /// </summary>
    public long Void(string bucketId)
    {
        ArgumentNullException.ThrowIfNull(bucketId);
        if (!ById().TryGetValue(bucketId, out var bucket)) throw new KeyNotFoundException($"No bucket '{bucketId}' in this balance.");
        if (bucket.Voided) return 0;
        bucket.Voided = true;
        if (bucket.ExpiryRecorded) return 0;
        var removed = Available(bucket);
        if (removed > 0)
        {
            bucket.Granted -= removed;
            Record(MovementType.Void, bucket.Id, removed);
        }
        return removed;
    }

    /// <summary>
    /// Records the expiry of every bucket not voided whose <c>ExpiresAt ≤ now</c> and whose expiry
    /// was not recorded yet: an <see cref="MovementType.Expire"/> movement for its remaining when that
    /// is &gt; 0, and <see cref="Bucket.ExpiryRecorded"/> set (also when nothing remained, so storage
    /// can stop loading it). The bucket keeps its numbers; it is simply no longer usable. Returns the
    /// expired parts (remaining &gt; 0 only), in burn-down order. Calling it again reports nothing new.
    /// </summary>
    public IReadOnlyList<Part> ExpireDue(DateTimeOffset now)
    {
        var due = _buckets.Where(b => !b.Voided && !b.ExpiryRecorded && b.ExpiresAt is { } e && e <= now).ToList();
        due.Sort(BurnDown.Comparer);
        var parts = new List<Part>();
        foreach (var bucket in due)
        {
            bucket.ExpiryRecorded = true;
            var left = Available(bucket);
            if (left == 0) continue;
            parts.Add(new Part(bucket.Id, left));
            Record(MovementType.Expire, bucket.Id, left);
        }
        return parts;
    }

    /// <summary>
    /// Pays this period's <see cref="Overage"/> out of units that became available again — a grant
    /// added, a hold released, a bucket that became effective — so that usage is counted against
    /// every unit the customer has before any of it is overage. Takes from usable buckets in burn
    /// order; usage is unchanged (the bucket's <c>Used</c> grows by what <see cref="Overage"/> loses).
    /// Afterwards <see cref="Overage"/> is 0 or nothing is available, which is what makes the API's
    /// <c>remaining = max(0, granted − used − held)</c> hold exactly (spec §5). Records an
    /// <see cref="MovementType.Adjust"/> of the overage part and a <see cref="MovementType.Consume"/>
    /// per bucket. Returns the amount settled.
    /// </summary>
    public long SettleOverage(DateTimeOffset now)
    {
        // Runs on every balance brought up to date: the common case (no overage) costs one comparison.
        if (Overage == 0) return 0;
        var total = Math.Min(Overage, Remaining(now));
        if (total == 0) return 0;
        Overage -= total;
        Record(MovementType.Adjust, null, total);
        // total ≤ what the usable buckets have, so nothing is left over.
        TakeFromBuckets(total, now, MovementType.Consume, null);
        return total;
    }

    /// <summary>Starts a new period: <see cref="Overage"/> becomes 0, recorded as a <see cref="MovementType.Reset"/> of the old overage when it was &gt; 0.</summary>
    public void ResetOverage()
    {
        if (Overage == 0) return;
        Record(MovementType.Reset, null, Overage);
        Overage = 0;
    }

    /// <summary>
    /// Admin: sets usage as of <paramref name="now"/> (the usable buckets' <c>Used</c> plus
    /// <see cref="Overage"/>) to <paramref name="used"/> (≥ 0). Applied as the difference, so buckets
    /// not involved keep their numbers: an increase is taken like <see cref="Consume"/> (usable
    /// buckets in burn order, then overage); a decrease is given back like <see cref="Correct"/> but
    /// from the usable buckets only (overage first, then reverse burn order). Held units are not
    /// touched. Afterwards <c>Used(now) + Overage == used</c>. Records <see cref="MovementType.Adjust"/>
    /// movements.
    /// </summary>
    public void SetUsed(long used, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(used);
        if (used > Micro.MaxAbs) throw new BalanceOverflowException();
        var current = Usage(now);
        if (used > current) Take(used - current, now, MovementType.Adjust);
        // The usable buckets' usage plus the overage is exactly `current`, so the give-back is complete.
        else if (used < current) GiveBack(current - used, BurnOrder(now).Reverse());
    }

    /// <summary>Takes from usable buckets in burn order, the rest to overage, recording <paramref name="type"/>.</summary>
    private List<Part> Take(long amount, DateTimeOffset now, MovementType type)
    {
        var parts = new List<Part>();
        var left = TakeFromBuckets(amount, now, type, parts);
        if (left > 0)
        {
            Overage = checked(Overage + left);
            parts.Add(new Part(null, left));
            Record(type, null, left);
        }
        return parts;
    }

    /// <summary>
    /// Uses up to <paramref name="amount"/> from the usable buckets in burn order, recording
    /// <paramref name="type"/> (and adding a part per bucket to <paramref name="parts"/> when given);
    /// returns what the buckets could not cover.
    /// </summary>
    private long TakeFromBuckets(long amount, DateTimeOffset now, MovementType type, List<Part>? parts)
    {
        var left = amount;
        foreach (var bucket in BurnOrder(now))
        {
            if (left == 0) break;
            var take = Math.Min(left, Available(bucket));
            if (take == 0) continue;
            bucket.Used = checked(bucket.Used + take);
            left -= take;
            parts?.Add(new Part(bucket.Id, take));
            Record(type, bucket.Id, take);
        }
        return left;
    }

    /// <summary>Returns usage: overage first, then the given buckets in order; records Adjust movements.</summary>
    private List<Part> GiveBack(long amount, IEnumerable<Bucket> order)
    {
        var parts = new List<Part>();
        var left = amount;
        var fromOverage = Math.Min(Overage, left);
        if (fromOverage > 0)
        {
            Overage -= fromOverage;
            left -= fromOverage;
            parts.Add(new Part(null, fromOverage));
            Record(MovementType.Adjust, null, fromOverage);
        }
        foreach (var bucket in order)
        {
            if (left == 0) break;
            var back = Math.Min(left, bucket.Used);
            if (back <= 0) continue;
            bucket.Used -= back;
            left -= back;
            parts.Add(new Part(bucket.Id, back));
            Record(MovementType.Adjust, bucket.Id, back);
            // Units returned to a bucket already reported as expired leave the balance again at once.
            if (bucket.ExpiryRecorded) Record(MovementType.Expire, bucket.Id, back);
        }
        return parts;
    }

    /// <summary>Held → remaining on one bucket, then writes off what lands in a voided or expired-and-recorded bucket.</summary>
    private void ReturnHeld(Bucket bucket, long amount)
    {
        if (amount <= 0) return;
        bucket.Held -= amount;
        Record(MovementType.Release, bucket.Id, amount);
        if (bucket.Voided && !bucket.ExpiryRecorded)
        {
            // Void removes what is left; held units were not left then, they are now.
            bucket.Granted -= amount;
            Record(MovementType.Void, bucket.Id, amount);
        }
        else if (bucket.ExpiryRecorded)
        {
            Record(MovementType.Expire, bucket.Id, amount);
        }
    }

    /// <summary>
    /// Throws <see cref="BalanceOverflowException"/> unless the granted total of the buckets still in play
    /// (not voided, expiry not recorded, and — when <paramref name="expiringAt"/> is given — not
    /// expiring by then) plus <paramref name="granted"/> stays within <see cref="Micro.MaxAbs"/>.
    /// Callers that add several buckets at once (a period reset adds a rollover and an allowance)
    /// check the whole amount first, so nothing changes when it does not fit.
    /// </summary>
    public void EnsureGrantRoom(long granted, DateTimeOffset? expiringAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(granted);
        var total = AddWithin(0, granted);
        foreach (var b in _buckets)
        {
            if (b.Voided || b.ExpiryRecorded || (expiringAt is { } at && b.ExpiresAt is { } e && e <= at)) continue;
            total = AddWithin(total, b.Granted);
        }
    }

    /// <summary>
    /// Throws <see cref="BalanceOverflowException"/> unless the period's usage at <paramref name="now"/>
    /// (<see cref="Usage"/>) plus <paramref name="amount"/> stays within <see cref="Micro.MaxAbs"/>.
    /// </summary>
    public void EnsureUsageRoom(long amount, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var total = AddWithin(AddWithin(0, amount), Overage);
        foreach (var b in _buckets) if (b.IsUsable(now)) total = AddWithin(total, b.Used);
    }

    /// <summary><paramref name="a"/> + <paramref name="b"/> (both ≥ 0), or a throw when the sum would pass <see cref="Micro.MaxAbs"/>.</summary>
    private static long AddWithin(long a, long b)
    {
        // Compared before adding, so a stored number of any size cannot wrap the sum.
        if (b > Micro.MaxAbs - a) throw new BalanceOverflowException();
        return a + b;
    }

    private void Insert(Bucket bucket)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        if (_byId is { } index)
        {
            if (!index.TryAdd(bucket.Id, bucket)) throw new ArgumentException($"Duplicate bucket id '{bucket.Id}'.", nameof(bucket));
        }
        else
        {
            // A restored balance without its index yet: one comparison a bucket instead of hashing them all.
            foreach (var b in _buckets)
            {
                if (string.Equals(b.Id, bucket.Id, StringComparison.Ordinal)) throw new ArgumentException($"Duplicate bucket id '{bucket.Id}'.", nameof(bucket));
            }
        }
        _buckets.Add(bucket);
    }

    private void Record(MovementType type, string? bucketId, long amount) => _movements.Add(new Movement(type, bucketId, amount));

    // Remaining cannot be negative while the invariants hold; clamping keeps a bucket whose numbers
    // were set directly from ever giving out negative units.
    private static long Available(Bucket bucket) => Math.Max(0, bucket.Remaining);

    private long Sum(DateTimeOffset now, Func<Bucket, long> value)
    {
        long total = 0;
        foreach (var bucket in _buckets)
            if (bucket.IsUsable(now)) total = checked(total + value(bucket));
        return total;
    }

    /// <summary>One part per bucket (amounts added) in first-seen order, the overage part last.</summary>
    private static List<Part> Merge(List<Part> parts)
    {
        var order = new List<string?>();
        var sums = new Dictionary<string, long>(StringComparer.Ordinal);
        long overage = 0;
        foreach (var part in parts)
        {
            if (part.BucketId is null)
            {
                overage = checked(overage + part.Amount);
                continue;
            }
            if (sums.TryGetValue(part.BucketId, out var sum)) sums[part.BucketId] = checked(sum + part.Amount);
            else
            {
                sums[part.BucketId] = part.Amount;
                order.Add(part.BucketId);
            }
        }
        var merged = order.Select(id => new Part(id, sums[id!])).ToList();
        if (overage > 0) merged.Add(new Part(null, overage));
        return merged;
    }
}
