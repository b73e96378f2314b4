using System.Security.Cryptography;
using System.Text;
using Kassa.Core.Payments;

namespace Kassa.Engine.Payments;

/// <summary>
/// The built-in test provider (spec §8): no network, no state. A card's behaviour is decided from its
/// number when it is attached and carried in the method token; charge and refund ids are derived from
/// the idempotency key, so the same key always gives the same id and outcome — the provider-side half
/// of "a retry never charges twice" — and a restart loses nothing.
/// <list type="bullet">
/// <item><c>4242424242424242</c> (and any other valid number): charges succeed.</item>
/// <item><c>4000000000000002</c>: refused when attached, <c>card_declined</c>.</item>
/// <item><c>4000000000009995</c>: refused when attached, <c>insufficient_funds</c>.</item>
/// <item><c>4000002500003155</c>: attaches; every charge needs 3-D Secure (<c>requires_action</c>).</item>
/// <item><c>4000000000000341</c>: attaches; every charge fails with <c>card_declined</c>.</item>
/// </list>
/// </summary>
public sealed class SandboxProvider : IPaymentProvider, Checkout.IConfirmsOnKassaPage
{
    public const string ProviderName = "sandbox";
    private const string TokenPrefix = "sbx_pm_";

    private enum Behaviour
    {
        Succeeds,
        RequiresAction,
        ChargeFails,
    }

    public string Name => ProviderName;

    public Task<AttachResult> AttachCardAsync(string customerId, CardInput card, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(card);
        var (summary, field, problem) = Cards.Validate(card.Number, card.ExpMonth, card.ExpYear, card.Cvc, now);
        if (summary is null) return Task.FromResult(new AttachResult(null, null, "invalid_card", $"{field} {problem}"));
        var digits = Cards.Digits(card.Number!)!;
        Behaviour? behaviour = digits switch
        {
            "4000000000000002" => null,
            "4000000000009995" => null,
            "4000002500003155" => Behaviour.RequiresAction,
            "4000000000000341" => Behaviour.ChargeFails,
            _ => Behaviour.Succeeds,
        };
        if (behaviour is not { } b)
        {
            var code = digits == "4000000000009995" ? "insufficient_funds" : "card_declined";
            return Task.FromResult(new AttachResult(null, null, code, code == "insufficient_funds" ? "The card has insufficient funds." : "The card was declined."));
        }
        var token = $"{TokenPrefix}{(int)b}_{Hash(customerId + ":" + digits)[..16]}";
        return Task.FromResult(new AttachResult(token, summary, null, null));
    }

    public Task<ChargeResult> ChargeAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var id = "sbx_ch_" + Hash(idempotencyKey)[..24];
        LogCharge(idempotencyKey, id);
        return Task.FromResult(BehaviourOf(methodToken) switch
        {
            Behaviour.Succeeds => new ChargeResult(ChargeStatus.Succeeded, id, null, null),
            Behaviour.RequiresAction => new ChargeResult(ChargeStatus.RequiresAction, id, "requires_action", "The card needs 3-D Secure authentication."),
            Behaviour.ChargeFails => new ChargeResult(ChargeStatus.Failed, id, "card_declined", "The card was declined."),
            _ => new ChargeResult(ChargeStatus.Failed, id, "invalid_payment_method", "This payment method is not a sandbox method."),
        });
    }

    public Task<RefundResult> RefundAsync(string providerChargeId, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var id = "sbx_re_" + Hash(idempotencyKey)[..24];
        // What may be refunded (never more than was paid) is Kassa's rule, checked against its own records.
        return Task.FromResult(providerChargeId.StartsWith("sbx_ch_", StringComparison.Ordinal)
            ? new RefundResult(true, id, null)
            : new RefundResult(false, id, "charge_not_found"));
    }

    /// <summary>
    /// A test-only switch: with <c>KASSA_SANDBOX_CHARGE_LOG=&lt;file&gt;</c> every charge call appends a line
    /// "<c>idempotency-key charge-id</c>" to the file, written through before the call returns, so a
    /// crash test can count the charges a killed process and its successor made.
    /// </summary>
    public const string ChargeLogVariable = "KASSA_SANDBOX_CHARGE_LOG";

    private static readonly string? ChargeLog = Environment.GetEnvironmentVariable(ChargeLogVariable) is { Length: > 0 } path ? path : null;
    private static readonly Lock ChargeLogLock = new();

    private static void LogCharge(string idempotencyKey, string chargeId)
    {
        if (ChargeLog is null) return;
        lock (ChargeLogLock) File.AppendAllText(ChargeLog, $"{idempotencyKey} {chargeId}\n");
    }

    /// <summary>
    /// The 3-D Secure step answered on Kassa's checkout page: confirmed, the charge succeeds under the same
    /// id as the charge that asked for it (one charge, like a payment intent that leaves
    /// <c>requires_action</c>); refused, it fails with <c>authentication_failed</c>. Only a 3-D Secure card has such a step.
    /// </summary>
    public Task<ChargeResult> ConfirmAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, bool approved, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amountMinor);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        var id = "sbx_ch_" + Hash(idempotencyKey)[..24];
        if (BehaviourOf(methodToken) != Behaviour.RequiresAction) return ChargeAsync(methodToken, amountMinor, currency, idempotencyKey, ct);
        return Task.FromResult(approved
            ? new ChargeResult(ChargeStatus.Succeeded, id, null, null)
            : new ChargeResult(ChargeStatus.Failed, id, "authentication_failed", "The payment was not confirmed with the bank."));
    }

    private static Behaviour? BehaviourOf(string token)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length < TokenPrefix.Length + 2) return null;
        return token[TokenPrefix.Length] switch
        {
            '0' => Behaviour.Succeeds,
            '1' => Behaviour.RequiresAction,
            '2' => Behaviour.ChargeFails,
            _ => null,
        };
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
