namespace Kassa.Core.Invoicing;

/// <summary>A tax rate as configured (spec §7 <c>POST /v1/tax_rates</c>): for a country, or one state of it.</summary>
public sealed record TaxRateTerms(string Id, string Name, string Country, string? State, decimal Percentage, bool Inclusive, bool Archived = false);

/// <summary>Which tax rate applies to a customer, from the address (pure).</summary>
public static class TaxRates
{
    /// <summary>
    /// The rate for an address: one for the customer's country and state beats one for the country
    /// alone; archived rates never apply; no address or no match → no tax. Countries and states compare
    /// without case (ISO codes). Two live rates for the same place are ambiguous: the oldest (first
    /// given) wins, so an answer never depends on storage order — the caller passes them oldest first.
    /// </summary>
    public static TaxRateTerms? ForAddress(IEnumerable<TaxRateTerms> rates, string? country, string? state)
    {
        if (string.IsNullOrEmpty(country)) return null;
        TaxRateTerms? countryWide = null;
        foreach (var rate in rates)
        {
            if (rate.Archived || !string.Equals(rate.Country, country, StringComparison.OrdinalIgnoreCase)) continue;
            if (rate.State is null) countryWide ??= rate;
            else if (state is not null && string.Equals(rate.State, state, StringComparison.OrdinalIgnoreCase)) return rate;
        }
        return countryWide;
    }

    /// <summary>The tax <see cref="InvoiceMath"/> applies for a rate.</summary>
    public static TaxRate ForInvoice(TaxRateTerms t) => new(t.Name, t.Percentage, t.Inclusive);
}
