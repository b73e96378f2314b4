using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Ledger;
using Kassa.Engine.Payments;
using Kassa.Engine.ProviderWebhooks;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Disputes;

/// <summary>
/// A provider's <see cref="DisputeChanged"/> opens or moves one dispute (one per provider dispute id, by
/// a unique key). Opening posts DR 1300 disputed funds / CR 1000 cash (the provider has taken the money
/// back while the dispute runs) and emits <c>dispute.opened</c>; winning posts DR 1000 / CR 1300
/// (<c>dispute.won</c>), losing DR 4960 disputes lost / CR 1300 (<c>dispute.lost</c>). Each entry's source is
/// <c>("dispute", dp_…, action)</c>, so nothing posts twice. A status never moves back from won or lost.
/// An event that arrives already won or lost for an unknown dispute opens it and closes it at once
/// (both entries), so the books show the money leaving and what became of it.
/// </summary>
public static class ApplyDisputeChange
{
    /// <summary>Reasons are short words (<c>fraudulent</c>, <c>product_not_received</c>); a longer one is cut, never refused.</summary>
    public const int ReasonLengthMax = 100;

    public static async Task<Result<string>> Execute(IStoreSession s, OperationContext op, string provider, DisputeChanged e)
    {
        if (!DisputeStatuses.All.Contains(e.Status)) return ProviderEventOutcomes.UnknownStatus;
        var known = await s.Disputes.FindByProviderIdAsync(op.Tenant, provider, e.ProviderDisputeId, forUpdate: false);
        var paymentId = known?.PaymentId ?? (await ApplyChargeEvent.FindAsync(s, op.Tenant, provider, null, e.ProviderChargeId))?.Id;
        if (paymentId is null) return ProviderEventOutcomes.UnknownPayment;
        // Payment first, then the dispute: two events of one dispute (or two disputes of one payment)
        // take turns, and the second sees what the first wrote.
        var payment = (await s.Payments.GetPaymentAsync(op.Tenant, paymentId, forUpdate: true))!;
        var dispute = await s.Disputes.FindByProviderIdAsync(op.Tenant, provider, e.ProviderDisputeId, forUpdate: true);

        if (dispute is null)
        {
            if (e.Amount <= 0 || e.Amount > payment.Amount || !string.Equals(payment.Currency, e.Currency, StringComparison.OrdinalIgnoreCase))
                return ProviderEventOutcomes.AmountMismatch;
            var reason = e.Reason.Length > ReasonLengthMax ? e.Reason[..ReasonLengthMax] : e.Reason;
            var openStatus = DisputeStatuses.IsClosed(e.Status) ? DisputeStatuses.NeedsResponse : e.Status;
            dispute = new DisputeRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Dispute), payment.Id, payment.CustomerId, e.Amount,
                payment.Currency, reason, openStatus, provider, e.ProviderDisputeId, op.Now, op.Now, null);
            await s.Disputes.InsertAsync(dispute);
            await PostJournalEntry.Execute(s, op, Postings.DisputeOpened(dispute.Id, dispute.Currency, dispute.Amount),
                $"Dispute {dispute.Id} of payment {payment.Id} opened", payment.CustomerId);
            await RecordAudit.Execute(s, op, EventTypes.DisputeOpened, "dispute", dispute.Id, ["payment_id", "amount", "reason", "status"]);
            await EmitEvent.Execute(s, op, EventTypes.DisputeOpened, "dispute", dispute.Id, DisputeResource.From(dispute));
            if (!DisputeStatuses.IsClosed(e.Status)) return ProviderEventOutcomes.Applied;
        }
        else if (DisputeStatuses.IsClosed(dispute.Status)) return ProviderEventOutcomes.DisputeClosed;
        else if (dispute.Status == e.Status) return ProviderEventOutcomes.Unchanged;

        if (!DisputeStatuses.IsClosed(e.Status))
        {
            // needs_response ↔ under_review: no money moves, so no entry and no event; the audit log keeps it.
            await s.Disputes.UpdateAsync(dispute with { Status = e.Status, UpdatedAt = op.Now });
            await RecordAudit.Execute(s, op, "dispute.updated", "dispute", dispute.Id, ["status"]);
            return ProviderEventOutcomes.Applied;
        }

        var closed = dispute with { Status = e.Status, UpdatedAt = op.Now, ClosedAt = op.Now };
        await s.Disputes.UpdateAsync(closed);
        var won = e.Status == DisputeStatuses.Won;
        await PostJournalEntry.Execute(s, op,
            won ? Postings.DisputeWon(closed.Id, closed.Currency, closed.Amount) : Postings.DisputeLost(closed.Id, closed.Currency, closed.Amount),
            $"Dispute {closed.Id} of payment {payment.Id} {e.Status}", payment.CustomerId);
        var type = won ? EventTypes.DisputeWon : EventTypes.DisputeLost;
        await RecordAudit.Execute(s, op, type, "dispute", closed.Id, ["status", "closed_at"]);
        await EmitEvent.Execute(s, op, type, "dispute", closed.Id, DisputeResource.From(closed),
            new Dictionary<string, object?> { ["status"] = dispute.Status, ["closed_at"] = null });
        return ProviderEventOutcomes.Applied;
    }
}
