using Kassa.Core.Balances;

namespace Kassa.Core.Tests.Balances;

/// <summary>Bucket builders with readable defaults; amounts are micro-units unless a name says units.</summary>
internal static class Fixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public const long Unit = Micro.PerUnit;

    public static Bucket Allowance(string id, long granted, DateTimeOffset? expiresAt = null, long used = 0, DateTimeOffset? createdAt = null) =>
        new(id, BucketKind.Allowance, 0, GrantCategory.Promotional, granted, used, 0, T0, expiresAt ?? T0.AddDays(30), createdAt ?? T0);

    public static Bucket Grant(string id, long granted, int priority = 10, GrantCategory category = GrantCategory.Promotional,
        DateTimeOffset? expiresAt = null, DateTimeOffset? createdAt = null, DateTimeOffset? effectiveAt = null, long used = 0, long held = 0) =>
        new(id, BucketKind.Grant, priority, category, granted, used, held, effectiveAt ?? T0, expiresAt, createdAt ?? T0);

    /// <summary>"id:amount" per part, comma-separated; the overage part is "_".</summary>
    public static string Show(IEnumerable<Part>? parts) =>
        parts is null ? "null" : string.Join(",", parts.Select(p => $"{p.BucketId ?? "_"}:{p.Amount}"));

    public static string Show(IEnumerable<Movement> movements) =>
        string.Join(",", movements.Select(m => $"{m.Type}/{m.BucketId ?? "_"}/{m.Amount}"));

    /// <summary>Every number of every bucket plus the overage, to prove that something changed nothing.</summary>
    public static string Snapshot(FeatureBalance balance) =>
        string.Join("|", balance.Buckets.Select(b => b.ToString())) + $"|overage={balance.Overage}";
}
