using Kassa.Core.Ids;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CustomerCredit;

/// <summary>
/// Changes a customer's credit balance in one currency inside the caller's transaction: the balance
/// row is locked (PostgreSQL <c>FOR UPDATE</c>; SQLite has one writer), changed, and the change is
/// appended to the transactions with the balance after it. The ledger entry is the caller's, since
/// what the change is set against (4950, 1200, the invoice) depends on why it happened.
/// </summary>
public static class CustomerCreditBook
{
    public const string CreditNote = "credit_note";
    public const string CreditNoteVoided = "credit_note_voided";
    public const string AppliedToInvoice = "applied_to_invoice";
    public const string InvoiceNegativeTotal = "invoice_negative_total";
    public const string Adjustment = "adjustment";

    /// <summary>
    /// The balance now (0 when the customer never had credit in this currency), locked for the
    /// transaction when the row exists. A reader that only spends credit needs no more: with no row
    /// there is nothing to spend, and every writer goes through <see cref="ChangeAsync"/>.
    /// </summary>
    public static async Task<long> LockedBalanceAsync(IStoreSession s, Tenant tenant, string customerId, string currency) =>
        (await s.CustomerCredit.GetAsync(tenant, customerId, currency, forUpdate: true))?.Balance ?? 0;

    /// <summary>
    /// Adds <paramref name="delta"/> (negative: takes it away). Answers the transaction, or null when the
    /// balance would go below zero (nothing written).
    /// </summary>
    public static async Task<CustomerCreditTransactionRecord?> ChangeAsync(IStoreSession s, OperationContext op, string customerId, string currency, long delta,
        string type, string? description, string? invoiceId = null, string? creditNoteId = null, string? transactionId = null)
    {
        await s.CustomerCredit.EnsureAsync(op.Tenant, customerId, currency, op.Now);
        var before = await LockedBalanceAsync(s, op.Tenant, customerId, currency);
        var after = checked(before + delta);
        if (after < 0) return null;
        await s.CustomerCredit.UpsertAsync(new CustomerCreditBalanceRecord(op.Tenant.AccountId, op.Tenant.Livemode, customerId, currency, after, op.Now));
        var transaction = new CustomerCreditTransactionRecord(op.Tenant.AccountId, op.Tenant.Livemode, transactionId ?? op.NewId(IdPrefixes.CustomerCreditTransaction),
            customerId, currency, type, delta, after, description, invoiceId, creditNoteId, op.Now);
        await s.CustomerCredit.InsertTransactionAsync(transaction);
        return transaction;
    }
}
