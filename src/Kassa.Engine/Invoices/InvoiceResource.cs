using Kassa.Engine.Ledger;
using Kassa.Engine.Events;
using Kassa.Engine.Audit;
using Kassa.Core.Ledger;
using System.Text.Json.Serialization;
using Kassa.Core.Balances;
using Kassa.Core.Invoicing;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Invoices;

/// <summary>One invoice line (spec §7). <c>unit_amount_decimal</c> is null when the line was given as an amount.</summary>
/// <remarks><c>discount</c> and <c>tax</c> are the line's share of the invoice discount and its tax, set when the invoice is finalized (0 on a draft).</remarks>
public sealed record InvoiceLineResource(
    string Id, string Type, string Description, decimal Quantity,
    [property: JsonConverter(typeof(DecimalStringConverter))] decimal? UnitAmountDecimal,
    long Amount, DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd, string? FeatureId, string? ProductId = null, long Discount = 0, long Tax = 0)
{
    [JsonPropertyOrder(-1)] public string Object => "line_item";

    public static InvoiceLineResource From(InvoiceLineRecord l) =>
        new(l.Id, l.Type, l.Description, Micro.ToDecimal(l.QuantityMicros), l.UnitAmountDecimal, l.Amount, l.PeriodStart, l.PeriodEnd, l.FeatureId,
            l.ProductId, l.Discount, l.Tax);
}

/// <summary>
/// An invoice (spec §7): every figure is an integer in minor units of <see cref="Currency"/>, and
/// <c>total = subtotal − discount + tax</c>. A draft's figures follow its lines; finalizing freezes them.
/// </summary>
public sealed record InvoiceResource(
    string Id, string? Number, string CustomerId, string? SubscriptionId, string Status, string Currency, string? Description,
    DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd, IReadOnlyList<InvoiceLineResource> Lines,
    long Subtotal, long Discount, long Tax, long Total, long AmountPaid, long AmountDue,
    DateTimeOffset? DueAt, DateTimeOffset CreatedAt, DateTimeOffset? FinalizedAt, DateTimeOffset? PaidAt, DateTimeOffset? VoidedAt,
    string HostedUrl, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "invoice";

    public static InvoiceResource From(InvoiceRecord i, IEnumerable<InvoiceLineRecord> lines) =>
        new(i.Id, i.Number, i.CustomerId, i.SubscriptionId, i.Status, i.Currency, i.Description, i.PeriodStart, i.PeriodEnd,
            [.. lines.Select(InvoiceLineResource.From)], i.Subtotal, i.Discount, i.Tax, i.Total, i.AmountPaid, i.AmountDue,
            i.DueAt, i.CreatedAt, i.FinalizedAt, i.PaidAt, i.VoidedAt, HostedPages.HostedInvoiceLinks.Url(i.AccountId, i.Livemode, i.Id), i.Livemode);
}

/// <summary>The invoice statuses and rules shared by the invoice use cases.</summary>
public static class InvoiceRules
{
    public const string Draft = "draft";
    public const string Open = "open";
    public const string Paid = "paid";
    public const string Void = "void";
    public const string Uncollectible = "uncollectible";

    public static readonly IReadOnlyList<string> Statuses = [Draft, Open, Paid, Void, Uncollectible];

    /// <summary>Lines one invoice may have: a bound on every read of an invoice and on its figures (100 × <see cref="AmountMax"/> fits a long many times over).</summary>
    public const int LinesMax = 100;

    /// <summary>A trillion minor units: the largest line amount, far above any real charge and still exact as decimal.</summary>
    public const long AmountMax = 1_000_000_000_000;

    /// <summary>The invoice's number as customers read it: <c>KAS-000001</c>, then more digits past a million.</summary>
    public static string Number(long sequence) => $"KAS-{sequence.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The stored line types (<c>invoice_lines.type</c>) and the core's.</summary>
    public static LineType LineTypeOf(string type) => type switch
    {
        "recurring" => LineType.Recurring,
        "usage" => LineType.Usage,
        "one_time" => LineType.OneTime,
        "proration" => LineType.Proration,
        "manual" => LineType.Manual,
        "prior_period" => LineType.PriorPeriod,
        _ => throw new InvalidOperationException($"Unknown invoice line type '{type}'"),
    };

    /// <summary>
    /// The figures of the lines with their real types, product and period, and — at finalize — the
    /// coupon, the tax rate and the customer credit that apply (<see cref="InvoiceMath.Build"/>). A
    /// draft's figures are the lines alone: discount, tax and credit are settled when it is finalized.
    /// </summary>
    public static InvoiceFigures Figures(IReadOnlyList<InvoiceLineRecord> lines, Coupon? coupon = null, TaxRate? tax = null, long customerCreditMinor = 0) =>
        InvoiceMath.Build(new InvoiceInput([.. lines.Select(l => new LineInput(LineTypeOf(l.Type), l.Description, Micro.ToDecimal(l.QuantityMicros),
            l.UnitAmountDecimal ?? l.Amount, l.Amount, l.PeriodStart, l.PeriodEnd, l.ProductId, l.FeatureId))], coupon, tax, customerCreditMinor));

    /// <summary>The invoice with figures recomputed from its lines (drafts only: a finalized invoice's figures never change).</summary>
    public static InvoiceRecord WithFigures(InvoiceRecord i, IReadOnlyList<InvoiceLineRecord> lines) => WithFigures(i, Figures(lines));

    /// <summary>The invoice carrying <paramref name="f"/>.</summary>
    public static InvoiceRecord WithFigures(InvoiceRecord i, InvoiceFigures f) =>
        i with { Subtotal = f.Subtotal, Discount = f.Discount, Tax = f.Tax, Total = f.Total, CreditApplied = f.CreditApplied, AmountDue = f.AmountDue };

    /// <summary>
    /// Takes an open invoice out of receivables: posts the exact reverse of its finalize entry under
    /// <paramref name="action"/> (<c>voided</c>, <c>marked_uncollectible</c>).
    /// </summary>
    public static async Task ReverseFinalizeEntryAsync(IStoreSession s, OperationContext op, InvoiceRecord invoice, string action, string description)
    {
        var finalized = await s.Ledger.FindBySourceAsync(op.Tenant, "invoice", invoice.Id, "finalized")
            ?? throw new InvalidOperationException($"Open invoice {invoice.Id} has no finalize entry");
        await PostJournalEntry.Execute(s, op, Postings.InvoiceReversed(PostJournalEntry.ToJournalEntry(finalized), action),
            $"Invoice {invoice.Number} {description}", invoice.CustomerId);
    }

    /// <summary>Stores a status change and records it: the audit entry and the event (with the status before) in the same transaction.</summary>
    public static async Task<InvoiceResource> SaveStatusChangeAsync(IStoreSession s, OperationContext op, InvoiceRecord before, InvoiceRecord after, string eventType)
    {
        await s.Invoices.UpdateAsync(after);
        var resource = await ResourceAsync(s, op.Tenant, after);
        await RecordAudit.Execute(s, op, eventType, "invoice", after.Id, ["status"]);
        await EmitEvent.Execute(s, op, eventType, "invoice", after.Id, resource, new Dictionary<string, object?> { ["status"] = before.Status });
        return resource;
    }

    public static async Task<InvoiceResource> ResourceAsync(IStoreSession s, Tenant tenant, InvoiceRecord i) =>
        InvoiceResource.From(i, await s.Invoices.LinesAsync(tenant, [i.Id]));
}
