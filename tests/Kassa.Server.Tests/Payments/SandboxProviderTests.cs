using Kassa.Core.Payments;
using Kassa.Engine.Payments;

namespace Kassa.Server.Tests.Payments;

/// <summary>The sandbox provider's test cards (spec §8) and its idempotency: the same key, the same charge.</summary>
public class SandboxProviderTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
    private readonly SandboxProvider _sandbox = new();

    private Task<AttachResult> Attach(string number, string customer = "cus_1") =>
        _sandbox.AttachCardAsync(customer, new CardInput(number, 12, 2030, "123"), Now, CancellationToken.None);

    [Theory]
    [InlineData("4242424242424242", ChargeStatus.Succeeded, null)]
    [InlineData("5555555555554444", ChargeStatus.Succeeded, null)]
    [InlineData("4000002500003155", ChargeStatus.RequiresAction, "requires_action")]
    [InlineData("4000000000000341", ChargeStatus.Failed, "card_declined")]
    public async Task Attached_test_cards_charge_as_the_spec_says(string number, ChargeStatus status, string? code)
    {
        var method = await Attach(number);
        Assert.True(method.Attached);
        Assert.Equal(number[^4..], method.Card!.Last4);
        var charge = await _sandbox.ChargeAsync(method.MethodToken!, 2000, "usd", "pa_1", CancellationToken.None);
        Assert.Equal((status, code), (charge.Status, charge.FailureCode));
    }

    [Theory]
    [InlineData("4000000000000002", "card_declined")]
    [InlineData("4000000000009995", "insufficient_funds")]
    [InlineData("4242424242424241", "invalid_card")]
    public async Task Declining_and_invalid_cards_are_refused_when_attached(string number, string code)
    {
        var method = await Attach(number);
        Assert.False(method.Attached);
        Assert.Equal(code, method.FailureCode);
    }

    [Fact]
    public async Task The_same_idempotency_key_gives_the_same_charge_and_another_key_another()
    {
        var method = await Attach("4242424242424242");
        var first = await _sandbox.ChargeAsync(method.MethodToken!, 2000, "usd", "pa_attempt_7", CancellationToken.None);
        var retry = await _sandbox.ChargeAsync(method.MethodToken!, 2000, "usd", "pa_attempt_7", CancellationToken.None);
        var other = await _sandbox.ChargeAsync(method.MethodToken!, 2000, "usd", "pa_attempt_8", CancellationToken.None);
        Assert.Equal(first, retry);
        Assert.NotEqual(first.ProviderChargeId, other.ProviderChargeId);
        var refund = await _sandbox.RefundAsync(first.ProviderChargeId, 500, "usd", "re_1", CancellationToken.None);
        Assert.Equal(refund, await _sandbox.RefundAsync(first.ProviderChargeId, 500, "usd", "re_1", CancellationToken.None));
        Assert.True(refund.Succeeded);
        Assert.False((await _sandbox.RefundAsync("ch_elsewhere", 500, "usd", "re_2", CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task A_token_from_elsewhere_is_not_charged()
    {
        var charge = await _sandbox.ChargeAsync("pm_from_stripe", 2000, "usd", "pa_9", CancellationToken.None);
        Assert.Equal((ChargeStatus.Failed, "invalid_payment_method"), (charge.Status, charge.FailureCode));
    }
}
