using System.Text.Json.Serialization;
using Kassa.Core.Invoicing;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary>A coupon (spec §7). <c>value</c> is percent, minor units of <c>currency</c>, or days, by <c>type</c>.</summary>
public sealed record CouponResource(
    string Id, string Code, string Type, decimal Value, string? Currency, string Duration, int? DurationInCycles, int? MaxRedemptions,
    int TimesRedeemed, DateTimeOffset? ExpiresAt, IReadOnlyList<string>? ProductIds, bool Archived, DateTimeOffset? ArchivedAt,
    DateTimeOffset CreatedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "coupon";

    public static CouponResource From(CouponRecord c) =>
        new(c.Id, c.Code, c.Type, c.Value, c.Currency, c.Duration, c.DurationInCycles, c.MaxRedemptions, c.TimesRedeemed, c.ExpiresAt, c.ProductIds,
            c.ArchivedAt is not null, c.ArchivedAt, c.CreatedAt, c.Livemode);
}

/// <summary>The words of coupons on the wire and their mapping to the core's rules.</summary>
public static class CouponWords
{
    public static readonly IReadOnlyList<string> Types = ["percentage", "fixed", "trial_extension"];
    public static readonly IReadOnlyList<string> Durations = ["once", "repeating", "forever"];

    public static CouponType Type(string type) => type switch
    {
        "percentage" => CouponType.Percentage,
        "fixed" => CouponType.Fixed,
        "trial_extension" => CouponType.TrialExtension,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a coupon type"),
    };

    public static CouponDuration Duration(string duration) => duration switch
    {
        "once" => CouponDuration.Once,
        "repeating" => CouponDuration.Repeating,
        "forever" => CouponDuration.Forever,
        _ => throw new ArgumentOutOfRangeException(nameof(duration), duration, "not a coupon duration"),
    };

    /// <summary>The core's terms of a stored coupon.</summary>
    public static CouponTerms Terms(CouponRecord c) =>
        new(c.Code, Type(c.Type), c.Value, c.Currency, Duration(c.Duration), c.DurationInCycles, c.MaxRedemptions, c.ExpiresAt,
            c.ProductIds is null ? null : new HashSet<string>(c.ProductIds, StringComparer.Ordinal), c.ArchivedAt is not null);

    /// <summary>
    /// Codes are matched without case (customers type them), so they are kept in upper case: 1–64
    /// characters of letters, digits, <c>_</c> and <c>-</c>.
    /// </summary>
    public static string? CodeProblem(string code) =>
        code.Length is < 1 or > 64 || !code.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-')
            ? "must be 1 to 64 letters, digits, _ or -" : null;

    public static string Normalize(string code) => code.ToUpperInvariant();
}
