using Kassa.Core.Paging;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// A coupon row (spec §7). <c>Value</c> is exact: percent for a percentage coupon, minor units for a
/// fixed one, days for a trial extension. <c>TimesRedeemed</c> only grows, under the row's lock.
/// </summary>
public sealed record CouponRecord(
    string AccountId, bool Livemode, string Id, string Code, string Type, decimal Value, string? Currency, string Duration,
    int? DurationInCycles, int? MaxRedemptions, int TimesRedeemed, DateTimeOffset? ExpiresAt, IReadOnlyList<string>? ProductIds,
    DateTimeOffset? ArchivedAt, DateTimeOffset CreatedAt);

/// <summary>One use of a coupon: by a subscription (its invoices count <c>CyclesApplied</c>) or by one manual invoice.</summary>
public sealed record CouponRedemptionRecord(
    string AccountId, bool Livemode, string Id, string CouponId, string CustomerId, string? SubscriptionId, string? InvoiceId,
    int CyclesApplied, DateTimeOffset CreatedAt);

public interface ICouponStore
{
    /// <summary>Inserts a coupon; false when the code is already taken in this account and mode.</summary>
    Task<bool> TryInsertAsync(CouponRecord coupon);
    /// <summary>A coupon; with <paramref name="forUpdate"/> locked on PostgreSQL to the end of the transaction, so redemptions count one after the other.</summary>
    Task<CouponRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task<CouponRecord?> FindByCodeAsync(Tenant tenant, string code, bool forUpdate = false);
    Task<IReadOnlyList<CouponRecord>> ListAsync(Tenant tenant, Cursor? after, int limit);
    Task UpdateAsync(CouponRecord coupon);
    Task InsertRedemptionAsync(CouponRedemptionRecord redemption);
    /// <summary>The redemption linked to a subscription, locked with <paramref name="forUpdate"/>.</summary>
    Task<CouponRedemptionRecord?> RedemptionForSubscriptionAsync(Tenant tenant, string subscriptionId, bool forUpdate = false);
    Task UpdateRedemptionAsync(CouponRedemptionRecord redemption);
}

/// <summary>A tax rate row (spec §7). The percentage is exact (e.g. 8.25).</summary>
public sealed record TaxRateRecord(
    string AccountId, bool Livemode, string Id, string Name, string Country, string? State, decimal Percentage, bool Inclusive,
    DateTimeOffset? ArchivedAt, DateTimeOffset CreatedAt);

public interface ITaxRateStore
{
    Task InsertAsync(TaxRateRecord rate);
    Task<TaxRateRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task<IReadOnlyList<TaxRateRecord>> ListAsync(Tenant tenant, Cursor? after, int limit);
    /// <summary>Live (not archived) rates of one country, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<TaxRateRecord>> LiveForCountryAsync(Tenant tenant, string country, int limit);
    Task UpdateAsync(TaxRateRecord rate);
}

/// <summary>What the account owes one customer in one currency (minor units, never negative).</summary>
public sealed record CustomerCreditBalanceRecord(string AccountId, bool Livemode, string CustomerId, string Currency, long Balance, DateTimeOffset UpdatedAt);

/// <summary>
/// One change of a customer credit balance (append-only). <c>Type</c>: <c>credit_note</c>,
/// <c>credit_note_voided</c>, <c>applied_to_invoice</c>, <c>invoice_negative_total</c>, <c>adjustment</c>.
/// </summary>
public sealed record CustomerCreditTransactionRecord(
    string AccountId, bool Livemode, string Id, string CustomerId, string Currency, string Type, long Amount, long BalanceAfter,
    string? Description, string? InvoiceId, string? CreditNoteId, DateTimeOffset CreatedAt);

public interface ICustomerCreditStore
{
    /// <summary>A customer's balance in one currency (null: never had any), locked with <paramref name="forUpdate"/>.</summary>
    Task<CustomerCreditBalanceRecord?> GetAsync(Tenant tenant, string customerId, string currency, bool forUpdate = false);
    /// <summary>Every currency's balance of a customer (at most one row per currency).</summary>
    Task<IReadOnlyList<CustomerCreditBalanceRecord>> ForCustomerAsync(Tenant tenant, string customerId);
    /// <summary>
    /// Makes sure the balance row exists (at 0), so that a following <see cref="GetAsync"/> with
    /// <c>forUpdate</c> has a row to lock: without it two first changes would both read "none" and the
    /// second would overwrite the first. A concurrent insert of the same row is waited for, not duplicated.
    /// </summary>
    Task EnsureAsync(Tenant tenant, string customerId, string currency, DateTimeOffset now);
    Task UpsertAsync(CustomerCreditBalanceRecord balance);
    Task InsertTransactionAsync(CustomerCreditTransactionRecord transaction);
    /// <summary>The newest transactions of a customer, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<CustomerCreditTransactionRecord>> TransactionsAsync(Tenant tenant, string customerId, int limit);
}

/// <summary>
/// A credit note row (spec §7). <c>Kind</c> says what it did: <c>open_invoice</c> (lowered what was
/// due), <c>customer_credit</c> (credit balance) or <c>payment_refund</c>. <c>Status</c>: <c>issued</c>, <c>void</c>.
/// <c>Lines</c> is the JSON of the lines it credits, when given by line.
/// </summary>
public sealed record CreditNoteRecord(
    string AccountId, bool Livemode, string Id, string InvoiceId, string CustomerId, string Currency, long Amount, string Reason,
    string Refund, string Kind, string Status, string? RefundId, string? Lines, DateTimeOffset CreatedAt, DateTimeOffset? VoidedAt);

public sealed record CreditNoteFilter(string? InvoiceId, string? CustomerId);

public interface ICreditNoteStore
{
    Task InsertAsync(CreditNoteRecord note);
    Task<CreditNoteRecord?> GetAsync(Tenant tenant, string id, bool forUpdate = false);
    Task UpdateAsync(CreditNoteRecord note);
    Task<IReadOnlyList<CreditNoteRecord>> ListAsync(Tenant tenant, CreditNoteFilter filter, Cursor? after, int limit);
    /// <summary>The sum of an invoice's credit notes that are not void.</summary>
    Task<long> IssuedTotalAsync(Tenant tenant, string invoiceId);
}
