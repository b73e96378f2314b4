using Kassa.Core.Errors;
using Kassa.Core.Pricing;

namespace Kassa.Core.Tests.Pricing;

public class PriceValidationTests
{
    [Fact]
    public void Valid_prices_have_no_problems()
    {
        Assert.Empty(PriceValidation.Check(UsagePrice.PerUnit(0.02m)));
        Assert.Empty(PriceValidation.Check(UsagePrice.PerUnit(0m)));
        Assert.Empty(PriceValidation.Check(UsagePrice.PerUnit(0.000000000001m)));
        Assert.Empty(PriceValidation.Check(UsagePrice.PerUnit(PriceValidation.UnitAmountMax)));
        Assert.Empty(PriceValidation.Check(UsagePrice.Package(1_000m, 500)));
        Assert.Empty(PriceValidation.Check(UsagePrice.Package(1m, 0)));
        Assert.Empty(PriceValidation.Check(UsagePrice.Graduated(new Tier(100_000m, 0.1m, 0), new Tier(null, 0.05m, 0))));
        Assert.Empty(PriceValidation.Check(UsagePrice.Volume(new Tier(0.5m, 1m, 10), new Tier(null, 0m, 0))));
        Assert.Empty(PriceValidation.Check(UsagePrice.Volume(new Tier(null, 1m, 0))));
    }

    [Fact]
    public void Per_unit_amounts_must_be_non_negative_bounded_and_at_most_12_fractional_digits()
    {
        Assert.Equal([new FieldError("unit_amount_decimal", "must not be negative")], PriceValidation.Check(UsagePrice.PerUnit(-0.01m)));
        Assert.Equal([new FieldError("unit_amount_decimal", "must have at most 12 fractional digits")], PriceValidation.Check(UsagePrice.PerUnit(0.0000000000001m)));
        // Trailing zeros are not significant digits.
        Assert.Empty(PriceValidation.Check(UsagePrice.PerUnit(0.1000000000000000m)));
        Assert.Equal([new FieldError("unit_amount_decimal", "must be at most 1,000,000,000,000")], PriceValidation.Check(UsagePrice.PerUnit(1_000_000_000_000.5m)));
    }

    [Fact]
    public void Package_size_must_be_a_positive_whole_number_and_amount_non_negative()
    {
        Assert.Equal([new FieldError("package_size", "must be greater than 0")], PriceValidation.Check(UsagePrice.Package(0m, 500)));
        Assert.Equal([new FieldError("package_size", "must be greater than 0")], PriceValidation.Check(UsagePrice.Package(-5m, 500)));
        Assert.Equal([new FieldError("package_size", "must be a whole number")], PriceValidation.Check(UsagePrice.Package(2.5m, 500)));
        Assert.Equal([new FieldError("package_size", "must be at most 1,000,000,000,000,000")], PriceValidation.Check(UsagePrice.Package(1_000_000_000_000_001m, 500)));
        Assert.Equal([new FieldError("amount", "must not be negative")], PriceValidation.Check(UsagePrice.Package(10m, -1)));
        Assert.Equal([new FieldError("amount", "must be at most 1,000,000,000,000")], PriceValidation.Check(UsagePrice.Package(10m, 1_000_000_000_001)));
    }

    [Fact]
    public void Tiered_prices_need_tiers()
    {
        Assert.Equal([new FieldError("tiers", "must not be empty")], PriceValidation.Check(UsagePrice.Graduated()));
        Assert.Equal([new FieldError("tiers", "must not be empty")], PriceValidation.Check(UsagePrice.Volume()));
        Assert.Equal([new FieldError("tiers", "must not be empty")], PriceValidation.Check(new UsagePrice(PriceModel.Volume, 0m, 0m, 0, null!)));
    }

    [Fact]
    public void Only_the_last_tier_is_unbounded_and_it_must_be()
    {
        Assert.Equal(
            [new FieldError("tiers[1].up_to", "must be null on the last tier")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(10m, 1m, 0), new Tier(20m, 1m, 0))));
        Assert.Equal(
            [new FieldError("tiers[0].up_to", "may only be null on the last tier")],
            PriceValidation.Check(UsagePrice.Volume(new Tier(null, 1m, 0), new Tier(null, 1m, 0))));
    }

    [Fact]
    public void Bounds_must_be_positive_and_strictly_ascending()
    {
        Assert.Equal(
            [new FieldError("tiers[0].up_to", "must be greater than 0")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(0m, 1m, 0), new Tier(null, 1m, 0))));
        Assert.Equal(
            [new FieldError("tiers[1].up_to", "must be greater than the previous tier's up_to")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(10m, 1m, 0), new Tier(10m, 1m, 0), new Tier(null, 1m, 0))));
        Assert.Equal(
            [new FieldError("tiers[1].up_to", "must be greater than the previous tier's up_to"), new FieldError("tiers[2].up_to", "must be greater than the previous tier's up_to")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(10m, 1m, 0), new Tier(5m, 1m, 0), new Tier(8m, 1m, 0), new Tier(null, 1m, 0))));
        Assert.Equal(
            [new FieldError("tiers[0].up_to", "must have at most 12 fractional digits")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(0.0000000000001m, 1m, 0), new Tier(null, 1m, 0))));
        Assert.Equal(
            [new FieldError("tiers[0].up_to", "must be at most 1,000,000,000,000,000")],
            PriceValidation.Check(UsagePrice.Graduated(new Tier(1_000_000_000_000_001m, 1m, 0), new Tier(null, 1m, 0))));
    }

    [Fact]
    public void Tier_amounts_are_checked_with_indexed_field_names()
    {
        Assert.Equal(
            [
                new FieldError("tiers[0].unit_amount_decimal", "must not be negative"),
                new FieldError("tiers[1].flat_amount", "must not be negative"),
                new FieldError("tiers[2].unit_amount_decimal", "must have at most 12 fractional digits"),
            ],
            PriceValidation.Check(UsagePrice.Volume(new Tier(1m, -1m, 0), new Tier(2m, 1m, -5), new Tier(null, 0.1234567890123m, 0))));
        Assert.Equal(
            [new FieldError("tiers[0]", "must not be null")],
            PriceValidation.Check(new UsagePrice(PriceModel.Graduated, 0m, 0m, 0, [null!, new Tier(null, 1m, 0)])));
    }

    [Fact]
    public void At_most_100_tiers()
    {
        static Tier[] Tiers(int count) =>
            [.. Enumerable.Range(1, count - 1).Select(i => new Tier(i, 1m, 0)), new Tier(null, 1m, 0)];
        Assert.Empty(PriceValidation.Check(UsagePrice.Graduated(Tiers(100))));
        Assert.Equal([new FieldError("tiers", "may have at most 100 tiers")], PriceValidation.Check(UsagePrice.Graduated(Tiers(101))));
    }

    [Fact]
    public void Fields_of_other_models_must_be_empty()
    {
        Assert.Equal(
            [new FieldError("package_size", "must not be set for the per_unit model"), new FieldError("amount", "must not be set for the per_unit model")],
            PriceValidation.Check(new UsagePrice(PriceModel.PerUnit, 1m, 10m, 5, [])));
        Assert.Equal(
            [new FieldError("unit_amount_decimal", "must not be set for the package model"), new FieldError("tiers", "must not be set for the package model")],
            PriceValidation.Check(new UsagePrice(PriceModel.Package, 1m, 10m, 5, [new Tier(null, 1m, 0)])));
        Assert.Equal(
            [new FieldError("unit_amount_decimal", "must not be set for the graduated model")],
            PriceValidation.Check(new UsagePrice(PriceModel.Graduated, 1m, 0m, 0, [new Tier(null, 1m, 0)])));
    }

    [Fact]
    public void Unknown_models_are_reported()
    {
        Assert.Equal([new FieldError("model", "must be one of per_unit, package, graduated, volume")], PriceValidation.Check(new UsagePrice((PriceModel)7, 0m, 0m, 0, [])));
        var thrown = Assert.Throws<ArgumentException>(() => PriceValidation.ThrowIfInvalid(UsagePrice.PerUnit(-1m)));
        Assert.StartsWith("invalid usage price: unit_amount_decimal must not be negative", thrown.Message);
    }
}
