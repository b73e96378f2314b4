using Kassa.Core.Money;

namespace Kassa.Core.Tests.Money;

public class CurrencyTests
{
    [Theory]
    [InlineData("usd", 2)]
    [InlineData("eur", 2)]
    [InlineData("gbp", 2)]
    [InlineData("chf", 2)]
    [InlineData("huf", 2)]
    [InlineData("twd", 2)]
    [InlineData("idr", 2)]
    [InlineData("jpy", 0)]
    [InlineData("krw", 0)]
    [InlineData("clp", 0)]
    [InlineData("vnd", 0)]
    [InlineData("isk", 0)]
    [InlineData("ugx", 0)]
    [InlineData("xof", 0)]
    [InlineData("xaf", 0)]
    [InlineData("pyg", 0)]
    [InlineData("bhd", 3)]
    [InlineData("jod", 3)]
    [InlineData("kwd", 3)]
    [InlineData("omr", 3)]
    [InlineData("tnd", 3)]
    [InlineData("iqd", 3)]
    [InlineData("lyd", 3)]
    public void Exponents_follow_iso_4217(string code, int exponent)
    {
        Assert.True(Currencies.TryGet(code, out var currency));
        Assert.Equal(exponent, currency.Exponent);
        Assert.Equal(code, currency.Code);
    }

    [Theory]
    [InlineData("USD")]
    [InlineData("Usd")]
    [InlineData("uSD")]
    public void Lookup_ignores_letter_case_and_returns_the_lowercase_code(string code)
    {
        Assert.True(Currencies.TryGet(code, out var currency));
        Assert.Equal("usd", currency.Code);
        Assert.True(Currencies.IsSupported(code));
        Assert.Same(currency, Currencies.Get(code));
    }

    [Theory]
    [InlineData("")]
    [InlineData("us")]
    [InlineData("usdd")]
    [InlineData("xxx")]
    [InlineData("abc")]
    [InlineData("us ")]
    [InlineData("ùsd")]
    public void Unknown_codes_are_not_supported(string code)
    {
        Assert.False(Currencies.TryGet(code, out var currency));
        Assert.Null(currency);
        Assert.False(Currencies.IsSupported(code));
        Assert.Throws<ArgumentException>(() => Currencies.Get(code));
    }

    [Fact]
    public void Null_is_not_supported()
    {
        Assert.False(Currencies.TryGet(null, out _));
        Assert.False(Currencies.IsSupported(null));
    }

    [Fact]
    public void The_table_has_at_least_40_distinct_lowercase_codes_with_sane_exponents()
    {
        var all = Currencies.All;
        Assert.True(all.Count >= 40, $"only {all.Count} currencies");
        Assert.Equal(all.Count, all.Select(c => c.Code).Distinct().Count());
        Assert.All(all, c =>
        {
            Assert.Matches("^[a-z]{3}$", c.Code);
            Assert.InRange(c.Exponent, 0, 3);
            Assert.False(string.IsNullOrWhiteSpace(c.Symbol));
        });
    }

    [Fact]
    public void Constructor_normalises_the_code_and_rejects_malformed_parts()
    {
        Assert.Equal("abc", new Currency("ABC", 2, "A", SymbolPlacement.Before).Code);
        Assert.Throws<ArgumentException>(() => new Currency("ab", 2, "A", SymbolPlacement.Before));
        Assert.Throws<ArgumentException>(() => new Currency("a1c", 2, "A", SymbolPlacement.Before));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Currency("abc", -1, "A", SymbolPlacement.Before));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Currency("abc", 5, "A", SymbolPlacement.Before));
        Assert.Throws<ArgumentException>(() => new Currency("abc", 2, "", SymbolPlacement.Before));
        Assert.Throws<ArgumentException>(() => new Currency("abc", 2, "123456789", SymbolPlacement.Before));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Currency("abc", 2, "A", (SymbolPlacement)9));
    }

    [Fact]
    public void Currencies_compare_by_value()
    {
        Assert.Equal(new Currency("usd", 2, "$", SymbolPlacement.Before), Currencies.Get("usd"));
        Assert.NotEqual(new Currency("usd", 3, "$", SymbolPlacement.Before), Currencies.Get("usd"));
    }
}
