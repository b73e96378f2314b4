using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CreditNotes;

/// <summary>One invoice line a credit note credits, and how much of it.</summary>
public sealed record CreditNoteLine(string LineId, long Amount);

/// <summary>
/// A credit note (spec §7): <c>amount</c> minor units credited against <c>invoice_id</c>. <c>kind</c>
/// says what it did — <c>open_invoice</c> (lowered what was due), <c>customer_credit</c> (added to
/// the customer's credit balance) or <c>payment_refund</c> (a refund of the payment, <c>refund_id</c>).
/// <c>status</c>: <c>issued</c> or <c>void</c>.
/// </summary>
public sealed record CreditNoteResource(
    string Id, string InvoiceId, string CustomerId, string Currency, long Amount, string Reason, string Refund, string Kind, string Status,
    string? RefundId, IReadOnlyList<CreditNoteLine>? Lines, DateTimeOffset CreatedAt, DateTimeOffset? VoidedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "credit_note";

    public static CreditNoteResource From(CreditNoteRecord n) =>
        new(n.Id, n.InvoiceId, n.CustomerId, n.Currency, n.Amount, n.Reason, n.Refund, n.Kind, n.Status, n.RefundId,
            n.Lines is null ? null : JsonSerializer.Deserialize<List<CreditNoteLine>>(n.Lines, KassaJson.Options), n.CreatedAt, n.VoidedAt, n.Livemode);
}

/// <summary>The words of credit notes.</summary>
public static class CreditNoteWords
{
    public const string Issued = "issued";
    public const string Void = "void";
    public const string OpenInvoice = "open_invoice";
    public const string CustomerCredit = "customer_credit";
    public const string PaymentRefund = "payment_refund";
    public static readonly IReadOnlyList<string> Refunds = ["payment", "credit"];
}
