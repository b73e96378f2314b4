using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Disputes;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>The answer to a provider delivery: received, whether it was a repeat, and what applying it did.</summary>
public sealed record ProviderWebhookReceipt(bool Received, bool Duplicate, string EventId, string Outcome);

/// <summary>
/// <c>POST /v1/providers/{provider}/webhooks</c>: the one pipeline behind every provider's webhooks. In
/// the caller's transaction: the tenant must exist; the provider's reader verifies the delivery (its
/// secret, signature and timestamp) and normalizes it; the dedupe row (tenant, provider, event id) is
/// inserted and the effect applied. A repeat loses the insert and answers <c>duplicate</c> with no
/// effect — across nodes too, since the unique key decides. Commit only a result that is ok: an error
/// (a signature that does not verify, or an effect that cannot be applied yet) keeps nothing, not even
/// the dedupe row, so the provider's next delivery is applied.
/// </summary>
public static class ReceiveProviderWebhook
{
    /// <summary>Provider event ids are short (<c>evt_</c> + 24); a longer one is refused before anything is stored.</summary>
    public const int EventIdLengthMax = 255;
    public const int EventTypeLengthMax = 100;

    public static async Task<Result<ProviderWebhookReceipt>> Execute(IStoreSession s, OperationContext op, IProviderWebhookReader reader, ProviderDelivery delivery,
        ICheckoutCompletedHandler? checkout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (await s.Accounts.GetAsync(op.Tenant.AccountId) is null) return KassaError.NotFound("account", op.Tenant.AccountId);
        var read = await reader.ReadAsync(s, op.Tenant, delivery, op.Now, ct);
        if (!read.IsOk) return read.Error!;
        var e = read.Value;
        if (e.Livemode != op.Tenant.Livemode)
            return new KassaError(ErrorCodes.SignatureInvalid, $"The event is {(e.Livemode ? "live" : "test")} mode but was sent to the {(op.Tenant.Livemode ? "live" : "test")} mode URL", "livemode");
        if (e.Id.Length is 0 or > EventIdLengthMax) return KassaError.Validation("id", $"must be 1 to {EventIdLengthMax} characters");
        if (e.Type.Length is 0 or > EventTypeLengthMax) return KassaError.Validation("type", $"must be 1 to {EventTypeLengthMax} characters");

        var record = new ProviderEventRecord(op.Tenant.AccountId, op.Tenant.Livemode, reader.Provider, e.Id, e.Type, EffectName(e.Effect), "pending", op.Now);
        if (!await s.ProviderEvents.TryInsertAsync(record))
        {
            var earlier = await s.ProviderEvents.GetAsync(op.Tenant, reader.Provider, e.Id);
            return new ProviderWebhookReceipt(true, true, e.Id, earlier?.Outcome ?? ProviderEventOutcomes.Recorded);
        }
        var applied = await ApplyAsync(s, op, reader.Provider, e.Effect, checkout, ct);
        if (!applied.IsOk) return applied.Error!;
        await s.ProviderEvents.SetOutcomeAsync(op.Tenant, reader.Provider, e.Id, applied.Value);
        await RecordAudit.Execute(s, op, "provider_event.received", "provider_event", e.Id, ["type", "outcome"]);
        return new ProviderWebhookReceipt(true, false, e.Id, applied.Value);
    }

    private static async Task<Result<string>> ApplyAsync(IStoreSession s, OperationContext op, string provider, ProviderEffect? effect,
        ICheckoutCompletedHandler? checkout, CancellationToken ct) => effect switch
        {
            null => ProviderEventOutcomes.Unhandled,
            ChargeSucceeded e => await ApplyChargeEvent.SucceededAsync(s, op, provider, e),
            ChargeFailed e => await ApplyChargeEvent.FailedAsync(s, op, provider, e),
            ChargeRefunded e => await ApplyProviderRefund.Execute(s, op, provider, e),
            MethodAttached e => await ApplyMethodEvent.AttachedAsync(s, op, provider, e),
            MethodDetached e => await ApplyMethodEvent.DetachedAsync(s, op, provider, e),
            CheckoutCompleted e => checkout is null ? ProviderEventOutcomes.Recorded : await checkout.ApplyAsync(s, op, provider, e, ct),
            DisputeChanged e => await ApplyDisputeChange.Execute(s, op, provider, e),
            _ => ProviderEventOutcomes.Unhandled,
        };

    private static string? EffectName(ProviderEffect? effect) => effect switch
    {
        null => null,
        ChargeSucceeded => "charge_succeeded",
        ChargeFailed => "charge_failed",
        ChargeRefunded => "charge_refunded",
        MethodAttached => "method_attached",
        MethodDetached => "method_detached",
        CheckoutCompleted => "checkout_completed",
        DisputeChanged => "dispute_changed",
        _ => effect.GetType().Name,
    };
}
