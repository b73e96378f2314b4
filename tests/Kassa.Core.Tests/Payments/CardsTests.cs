using Kassa.Core.Payments;

namespace Kassa.Core.Tests.Payments;

public class CardsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("4242424242424242", CardBrand.Visa, "4242")]
    [InlineData("4242 4242 4242 4242", CardBrand.Visa, "4242")]
    [InlineData("5555555555554444", CardBrand.Mastercard, "4444")]
    [InlineData("2223003122003222", CardBrand.Mastercard, "3222")]
    [InlineData("378282246310005", CardBrand.Amex, "0005")]
    [InlineData("6011111111111117", CardBrand.Discover, "1117")]
    public void Valid_cards_keep_only_brand_last4_and_expiry(string number, CardBrand brand, string last4)
    {
        var (card, field, problem) = Cards.Validate(number, 12, 2026, "123", Now);
        Assert.Null(field);
        Assert.Null(problem);
        Assert.Equal(new CardSummary(brand, last4, 12, 2026), card);
    }

    [Theory]
    [InlineData(null, 12, 2030, "123", "card.number")]
    [InlineData("4242424242424241", 12, 2030, "123", "card.number")]
    [InlineData("4242-4242-4242-4242", 12, 2030, "123", "card.number")]
    [InlineData("42424242", 12, 2030, "123", "card.number")]
    [InlineData("4242424242424242", 13, 2030, "123", "card.exp_month")]
    [InlineData("4242424242424242", 11, 2026, "123", "card.exp_year")]
    [InlineData("4242424242424242", 12, 26, "123", "card.exp_year")]
    [InlineData("4242424242424242", 12, 2030, "12", "card.cvc")]
    [InlineData("4242424242424242", 12, 2030, "12a", "card.cvc")]
    public void Invalid_cards_name_the_field(string? number, int month, int year, string cvc, string expected)
    {
        var (card, field, _) = Cards.Validate(number, month, year, cvc, Now);
        Assert.Null(card);
        Assert.Equal(expected, field);
    }
}
