namespace Kassa.Core.Balances;

/// <summary>
/// The burn-down order (spec §5.4): which bucket consumption takes from first. Whether a bucket is
/// usable at a given time is checked separately (<see cref="Bucket.IsUsable"/>).
/// </summary>
public static class BurnDown
{
    /// <summary>
    /// Orders buckets: <c>Priority</c> ascending; then <c>ExpiresAt</c> ascending with never-expiring
    /// buckets last; then promotional before paid; then oldest <c>CreatedAt</c> first; then
    /// <c>Id</c> by ordinal comparison. Negative when <paramref name="a"/> burns first. Total for
    /// buckets with distinct ids, so the order never depends on how buckets were loaded.
    /// </summary>
    public static int Compare(Bucket a, Bucket b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (ReferenceEquals(a, b)) return 0;
        var c = a.Priority.CompareTo(b.Priority);
        if (c != 0) return c;
        c = (a.ExpiresAt, b.ExpiresAt) switch
        {
            (null, null) => 0,
            (null, _) => 1,
            (_, null) => -1,
            ({ } x, { } y) => x.CompareTo(y),
        };
        if (c != 0) return c;
        c = Rank(a.Category).CompareTo(Rank(b.Category));
        if (c != 0) return c;
        c = a.CreatedAt.CompareTo(b.CreatedAt);
        if (c != 0) return c;
        return string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary><see cref="Compare"/> as an <see cref="IComparer{T}"/>, for sorting.</summary>
    public static IComparer<Bucket> Comparer { get; } = Comparer<Bucket>.Create(Compare);

    // Explicit rather than the enum's numeric value, so reordering the enum cannot change billing.
    private static int Rank(GrantCategory category) => category == GrantCategory.Promotional ? 0 : 1;
}
