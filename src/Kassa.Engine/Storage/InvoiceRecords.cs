using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// An invoice row (spec §7). Figures are minor units; for a draft they are recomputed whenever a line
/// changes, and frozen when the invoice is finalized.
/// </summary>
public sealed record InvoiceRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string? SubscriptionId, string? Number, string Status, string Currency,
    string? Description, DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd,
    long Subtotal, long Discount, long Tax, long Total, long AmountPaid, long AmountDue,
    DateTimeOffset CreatedAt, DateTimeOffset? FinalizedAt, DateTimeOffset? VoidedAt,
    DateTimeOffset? PaidAt = null, DateTimeOffset? DueAt = null, long CreditApplied = 0, string BillingReason = "manual",
    string? CouponId = null, string? TaxRateId = null, int AttemptCount = 0, DateTimeOffset? NextAttemptAt = null);

/// <summary>
/// One invoice line: quantity in micro-units, the unit amount as an exact decimal (null when the amount
/// was given directly), the period, product and feature it bills, and its share of the invoice discount
/// and its tax (both minor units, set when the invoice is finalized).
/// </summary>
public sealed record InvoiceLineRecord(
    string AccountId, bool Livemode, string InvoiceId, string Id, string Type, string Description, long QuantityMicros,
    decimal? UnitAmountDecimal, long Amount, DateTimeOffset CreatedAt,
    DateTimeOffset? PeriodStart = null, DateTimeOffset? PeriodEnd = null, string? ProductId = null, string? FeatureId = null,
    long Discount = 0, long Tax = 0);

public sealed record InvoiceFilter(string? CustomerId, string? Status);

public interface IInvoiceStore
{
    Task InsertAsync(InvoiceRecord invoice);
    /// <summary>An invoice; with <paramref name="forUpdate"/> locked on PostgreSQL until the transaction ends, so concurrent changes of one invoice run one after the other.</summary>
    Task<InvoiceRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateAsync(InvoiceRecord invoice);
    Task<IReadOnlyList<InvoiceRecord>> ListAsync(Tenant tenant, InvoiceFilter filter, Cursor? after, int limit);

    Task InsertLineAsync(InvoiceLineRecord line);
    /// <summary>Rewrites a line's figures (a draft's line, or the discount and tax shares set at finalize).</summary>
    Task UpdateLineAsync(InvoiceLineRecord line);
    /// <summary>Deletes a line of an invoice; false when there was none.</summary>
    Task<bool> DeleteLineAsync(Tenant tenant, string invoiceId, string lineId);
    /// <summary>The lines of these invoices in the order they were added (at most <c>LinesMax</c> per invoice by construction).</summary>
    Task<IReadOnlyList<InvoiceLineRecord>> LinesAsync(Tenant tenant, IReadOnlyCollection<string> invoiceIds);

    /// <summary>
    /// Takes the next invoice number of the tenant (1, 2, 3…) inside the caller's transaction. On
    /// PostgreSQL the counter row stays locked until the transaction ends, which serialises finalizers;
    /// SQLite's single writer does the same. A rollback gives the number back, so numbers have no gaps.
    /// </summary>
    Task<long> NextNumberAsync(Tenant tenant);

    /// <summary>Open invoices whose dunning retry is due at <paramref name="now"/>, oldest first (bounded).</summary>
    Task<IReadOnlyList<(Tenant Tenant, string Id)>> DueForPaymentRetryAsync(DateTimeOffset now, int limit);
}

/// <summary>A stored journal entry with its lines (spec §9).</summary>
public sealed record LedgerEntryRecord(
    string AccountId, bool Livemode, string Id, string Currency, string Description, string SourceType, string SourceId, string Action,
    string? CustomerId, DateTimeOffset OccurredAt, IReadOnlyList<LedgerLineRecord> Lines);

public sealed record LedgerLineRecord(string AccountCode, long Debit, long Credit);

/// <summary>The sums of one account's lines in one currency.</summary>
public sealed record LedgerAccountTotals(string AccountCode, long Debit, long Credit);

public interface ILedgerStore : ILedgerReads
{
    /// <summary>Writes an entry and its lines; false (nothing written) when its source already posted this action.</summary>
    Task<bool> TryInsertAsync(LedgerEntryRecord entry);
    Task<LedgerEntryRecord?> FindBySourceAsync(Tenant tenant, string sourceType, string sourceId, string action);
    /// <summary>Entries newest first, with their lines.</summary>
    Task<IReadOnlyList<LedgerEntryRecord>> ListAsync(Tenant tenant, string? customerId, Cursor? after, int limit);
    /// <summary>Debits and credits per account code of one currency, summed by the database over every line.</summary>
    Task<IReadOnlyList<LedgerAccountTotals>> TotalsAsync(Tenant tenant, string currency);
}
