using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Disputes;
using Kassa.Engine.Json;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// <c>POST /v1/test_helpers/payments/{id}/dispute</c> (test mode): plays the sandbox provider. It writes
/// the <c>dispute.changed</c> event the sandbox would send for the payment's charge, signs it with the
/// tenant's sandbox webhook secret and runs it through <see cref="ReceiveProviderWebhook"/> — signature
/// check, dedupe and effect — so a simulated dispute takes exactly the code path of a real delivery. The
/// sandbox dispute id is derived from the payment, so calling it again (e.g. with <c>won</c>) moves the
/// same dispute; answers that dispute.
/// </summary>
public static class SimulateSandboxDispute
{
    public sealed record Request(string? Status, string? Reason);

    public static async Task<Result<DisputeResource>> Execute(IStoreSession s, OperationContext op, SandboxWebhookReader reader, string paymentId, Request r,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(r);
        if (op.Tenant.Livemode) return new KassaError(ErrorCodes.TestModeOnly, "Test helpers run in test mode only");
        var status = r.Status ?? DisputeStatuses.NeedsResponse;
        if (!DisputeStatuses.All.Contains(status)) return KassaError.Validation("status", "must be needs_response, under_review, won or lost");
        var reason = r.Reason ?? "fraudulent";
        if (reason.Length is 0 or > ApplyDisputeChange.ReasonLengthMax) return KassaError.Validation("reason", $"must be 1 to {ApplyDisputeChange.ReasonLengthMax} characters");

        var payment = await s.Payments.GetPaymentAsync(op.Tenant, paymentId);
        if (payment is null) return KassaError.NotFound("payment", paymentId);
        if (payment.Provider != SandboxWebhookReader.ProviderName || payment.ProviderChargeId is null
            || payment.Status is not (PaymentStatuses.Succeeded or PaymentStatuses.PartiallyRefunded or PaymentStatuses.Refunded))
            return KassaError.InvalidState($"Payment '{payment.Id}' is {payment.Status}; only a collected sandbox charge can be disputed");

        var disputeId = "sbx_dp_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(payment.Id)))[..24];
        var eventId = "sbx_evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var body = JsonSerializer.Serialize(new
        {
            id = eventId,
            type = SandboxWebhookReader.DisputeChangedType,
            created = op.Now.ToUnixTimeSeconds(),
            livemode = false,
            data = new
            {
                provider_dispute_id = disputeId, provider_charge_id = payment.ProviderChargeId, amount = payment.Amount, currency = payment.Currency,
                reason, status,
            },
        }, KassaJson.Options);
        var headers = SandboxWebhookReader.SignHeaders(await SandboxWebhookReader.SecretAsync(s, op.Tenant), eventId, op.Now, body);
        var delivery = new ProviderDelivery(body, name => headers.GetValueOrDefault(name));
        var provider = new OperationContext(op.Tenant, new Actor("provider", reader.Provider), op.RequestId, op.Now);
        var received = await ReceiveProviderWebhook.Execute(s, provider, reader, delivery, checkout: null, ct);
        if (!received.IsOk) return received.Error!;
        var dispute = await s.Disputes.FindByProviderIdAsync(op.Tenant, reader.Provider, disputeId, forUpdate: false);
        return dispute is null
            ? KassaError.InvalidState($"The sandbox dispute of payment '{payment.Id}' was not opened ({received.Value.Outcome})")
            : DisputeResource.From(dispute);
    }
}
