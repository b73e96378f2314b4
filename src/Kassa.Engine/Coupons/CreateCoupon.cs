using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Invoicing;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Coupons;

/// <summary>
/// <c>POST /v1/coupons</c>: a coupon under a code unique in the account and mode (matched without
/// case). The terms are checked by <see cref="Kassa.Core.Invoicing.Coupons.ValidateTerms"/>, which
/// names each wrong field.
/// </summary>
public static class CreateCoupon
{
    /// <summary>Products one coupon may be restricted to: a bound on the row and on every check against it.</summary>
    public const int ProductIdsMax = 100;

    public sealed record Request(
        string? Code, string? Type, decimal? Value, string? Currency, string? Duration, int? DurationInCycles, int? MaxRedemptions,
        DateTimeOffset? ExpiresAt, List<string>? ProductIds);

    public static async Task<Result<CouponResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.Code is null) return KassaError.Missing("code");
        if (r.Type is null) return KassaError.Missing("type");
        if (r.Value is null) return KassaError.Missing("value");
        if (r.Duration is null) return KassaError.Missing("duration");
        var errors = new List<FieldError>();
        if (CouponWords.CodeProblem(r.Code) is { } c) errors.Add(new FieldError("code", c));
        if (!CouponWords.Types.Contains(r.Type)) errors.Add(new FieldError("type", $"must be one of {string.Join(", ", CouponWords.Types)}"));
        if (!CouponWords.Durations.Contains(r.Duration)) errors.Add(new FieldError("duration", $"must be one of {string.Join(", ", CouponWords.Durations)}"));
        string? currency = null;
        if (r.Currency is not null)
        {
            if (Currencies.TryGet(r.Currency, out var cur)) currency = cur.Code;
            else errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
        }
        // A percentage is exact to four decimals (12.3456 %); more digits would only hide a rounding.
        if (decimal.Round(r.Value.Value, 4) != r.Value.Value) errors.Add(new FieldError("value", "must have at most 4 decimal places"));
        if (r.ExpiresAt is { } e && e <= op.Now) errors.Add(new FieldError("expires_at", "must be in the future"));
        if (r.ProductIds is { } ids)
        {
            if (ids.Count > ProductIdsMax) errors.Add(new FieldError("product_ids", $"must name at most {ProductIdsMax} products"));
            else if (ids.Any(p => Rules.Slug(p) is not null)) errors.Add(new FieldError("product_ids", "must be product ids ([a-z0-9_-]{1,64})"));
            else if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count) errors.Add(new FieldError("product_ids", "must not repeat a product"));
        }
        if (errors.Count > 0) return KassaError.Validation(errors);

        var code = CouponWords.Normalize(r.Code);
        var terms = new CouponTerms(code, CouponWords.Type(r.Type), r.Value.Value, currency, CouponWords.Duration(r.Duration), r.DurationInCycles,
            r.MaxRedemptions, r.ExpiresAt, r.ProductIds?.ToHashSet(StringComparer.Ordinal));
        var problems = Kassa.Core.Invoicing.Coupons.ValidateTerms(terms);
        if (problems.Count > 0) return KassaError.Validation(problems);

        var coupon = new CouponRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Coupon), code, r.Type, r.Value.Value, currency, r.Duration,
            r.DurationInCycles, r.MaxRedemptions, 0, r.ExpiresAt, r.ProductIds, null, op.Now);
        if (!await s.Coupons.TryInsertAsync(coupon))
            return new KassaError(ErrorCodes.AlreadyExists, $"A coupon with code '{code}' already exists", "code");
        await RecordAudit.Execute(s, op, "coupon.created", "coupon", coupon.Id, ["code", "type", "value", "duration"]);
        return CouponResource.From(coupon);
    }
}
