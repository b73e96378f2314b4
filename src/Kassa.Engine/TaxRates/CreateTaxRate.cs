using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TaxRates;

/// <summary>
/// <c>POST /v1/tax_rates</c>: a rate for a country (ISO 3166 alpha-2) or one state of it, chosen at
/// finalize by the customer's address (<see cref="Kassa.Core.Invoicing.TaxRates.ForAddress"/>).
/// Country and state are kept in upper case, as customer addresses are.
/// </summary>
public static class CreateTaxRate
{
    /// <summary>Live rates one country may have: every finalize reads them all, so they are bounded.</summary>
    public const int LivePerCountryMax = 100;
    public const int NameLengthMax = 200;
    public const int StateLengthMax = 64;

    public sealed record Request(string? Name, string? Country, string? State, decimal? Percentage, bool? Inclusive);

    public static async Task<Result<TaxRateResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.Name is null) return KassaError.Missing("name");
        if (r.Country is null) return KassaError.Missing("country");
        if (r.Percentage is null) return KassaError.Missing("percentage");
        if (r.Inclusive is null) return KassaError.Missing("inclusive");
        var errors = new List<FieldError>();
        if (Rules.Text(r.Name, NameLengthMax, allowEmpty: false) is { } n) errors.Add(new FieldError("name", n));
        if (r.Country.Length != 2 || !r.Country.All(char.IsAsciiLetter)) errors.Add(new FieldError("country", "must be a two-letter ISO 3166 country code such as US"));
        if (r.State is not null && (Rules.Text(r.State, StateLengthMax, allowEmpty: false) is not null || !r.State.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or ' ')))
            errors.Add(new FieldError("state", $"must be 1 to {StateLengthMax} letters, digits, spaces or -"));
        if (r.Percentage is < 0 or > 100 || decimal.Round(r.Percentage.Value, 4) != r.Percentage.Value)
            errors.Add(new FieldError("percentage", "must be from 0 to 100 with at most 4 decimal places"));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var country = r.Country.ToUpperInvariant();
        if ((await s.TaxRates.LiveForCountryAsync(op.Tenant, country, LivePerCountryMax)).Count >= LivePerCountryMax)
            return new KassaError(ErrorCodes.LimitReached, $"A country has at most {LivePerCountryMax} live tax rates; archive one first", "country");
        var rate = new TaxRateRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.TaxRate), r.Name, country, r.State?.ToUpperInvariant(),
            r.Percentage.Value, r.Inclusive.Value, null, op.Now);
        await s.TaxRates.InsertAsync(rate);
        await RecordAudit.Execute(s, op, "tax_rate.created", "tax_rate", rate.Id, ["name", "country", "state", "percentage", "inclusive"]);
        return TaxRateResource.From(rate);
    }
}
