using Kassa.Core.Invoicing;

namespace Kassa.Core.Ledger;

/// <summary>
/// The journal entry of each money movement (spec §9), as pure functions of the movement. Every entry
/// balances by construction and is checked again by <see cref="JournalEntry.Create"/>.
/// </summary>
public static class Postings
{
    /// <summary>
    /// An invoice finalized: DR receivable the total; CR each line's revenue account (a credit line —
    /// unused time — is a debit there); DR discounts; CR tax payable. With inclusive tax the tax is
    /// taken out of each line's revenue. A negative total is owed to the customer: it is credited to the
    /// customer credit balance instead of making receivables negative.
    /// </summary>
    /// <param name="accountFor">The revenue account of a line; default <see cref="Chart.RevenueFor"/>.</param>
    public static JournalEntry InvoiceFinalized(string invoiceId, string currency, InvoiceFigures figures, Func<LineInput, LedgerAccount>? accountFor = null)
    {
        ArgumentNullException.ThrowIfNull(figures);
        accountFor ??= line => Chart.RevenueFor(line.Type);
        var amounts = new List<(LedgerAccount, long)>
        {
            (figures.Total >= 0 ? Chart.Receivable : Chart.CustomerCredit, figures.Total),
            (Chart.Discounts, figures.Discount),
            (Chart.TaxPayable, -figures.Tax),
        };
        foreach (var line in figures.Lines)
        {
            var revenue = figures.TaxInclusive ? line.Line.AmountMinor - line.TaxMinor : line.Line.AmountMinor;
            amounts.Add((accountFor(line.Line), -revenue));
        }
        return JournalEntry.Create(new EntrySource("invoice", invoiceId, "finalized"), currency, amounts);
    }

    /// <summary>An open invoice voided: the exact reverse of its finalize entry.</summary>
    public static JournalEntry InvoiceVoided(JournalEntry finalized) => InvoiceReversed(finalized, "voided");

    /// <summary>
    /// An open invoice leaving receivables — voided, or marked uncollectible (spec §7) — posts the exact
    /// reverse of its finalize entry under <paramref name="action"/>, so each stays distinguishable.
    /// </summary>
    public static JournalEntry InvoiceReversed(JournalEntry finalized, string action) =>
        finalized.Reverse(finalized.Source with { Action = action });

    /// <summary>A payment that succeeded: DR cash; CR receivable.</summary>
    public static JournalEntry PaymentSucceeded(string paymentId, string currency, long amountMinor) =>
        Move("payment", paymentId, "succeeded", currency, amountMinor, Chart.Cash, Chart.Receivable);

    /// <summary>
    /// A payment that succeeded after its invoice left receivables (voided while the charge was in
    /// flight): DR cash; CR customer credit balance, so the money is owed back rather than lost.
    /// </summary>
    public static JournalEntry PaymentToCustomerCredit(string paymentId, string currency, long amountMinor) =>
        Move("payment", paymentId, "succeeded", currency, amountMinor, Chart.Cash, Chart.CustomerCredit);

    /// <summary>Money returned to the customer's payment method: DR refunds; CR cash.</summary>
    public static JournalEntry Refunded(string refundId, string currency, long amountMinor) =>
        Move("refund", refundId, "succeeded", currency, amountMinor, Chart.Refunds, Chart.Cash);

    /// <summary>A dispute opened: the provider takes the money back while it runs. DR disputed funds; CR cash.</summary>
    public static JournalEntry DisputeOpened(string disputeId, string currency, long amountMinor) =>
        Move("dispute", disputeId, "opened", currency, amountMinor, Chart.DisputedFunds, Chart.Cash);

    /// <summary>A dispute won: the provider returns the money. DR cash; CR disputed funds.</summary>
    public static JournalEntry DisputeWon(string disputeId, string currency, long amountMinor) =>
        Move("dispute", disputeId, "won", currency, amountMinor, Chart.Cash, Chart.DisputedFunds);

    /// <summary>A dispute lost: the money is gone for good, a reduction of revenue. DR disputes lost; CR disputed funds.</summary>
    public static JournalEntry DisputeLost(string disputeId, string currency, long amountMinor) =>
        Move("dispute", disputeId, "lost", currency, amountMinor, Chart.DisputesLost, Chart.DisputedFunds);

    /// <summary>A credit note issued as customer credit: DR refunds and credit notes; CR customer credit balance.</summary>
    public static JournalEntry CreditNoteAsCredit(string creditNoteId, string currency, long amountMinor) =>
        Move("credit_note", creditNoteId, "issued", currency, amountMinor, Chart.Refunds, Chart.CustomerCredit);

    /// <summary>
    /// A credit note on an open invoice lowers what the customer still owes: DR refunds and credit
    /// notes; CR receivable. Voiding the note posts the exact reverse.
    /// </summary>
    public static JournalEntry CreditNoteOnOpenInvoice(string creditNoteId, string currency, long amountMinor) =>
        Move("credit_note", creditNoteId, "issued", currency, amountMinor, Chart.Refunds, Chart.Receivable);

    /// <summary>
    /// A manual change of a customer's credit balance. A grant (positive) is a concession: DR refunds
    /// and credit notes; CR customer credit balance. A removal (negative) is its mirror: DR customer
    /// credit balance; CR refunds and credit notes.
    /// </summary>
    public static JournalEntry CustomerCreditAdjusted(string transactionId, string currency, long signedAmountMinor)
    {
        if (signedAmountMinor == 0) throw new ArgumentOutOfRangeException(nameof(signedAmountMinor), "An adjustment moves a non-zero amount.");
        return signedAmountMinor > 0
            ? Move("customer_credit", transactionId, "adjusted", currency, signedAmountMinor, Chart.Refunds, Chart.CustomerCredit)
            : Move("customer_credit", transactionId, "adjusted", currency, -signedAmountMinor, Chart.CustomerCredit, Chart.Refunds);
    }

    /// <summary>Customer credit used to pay an invoice: DR customer credit balance; CR receivable.</summary>
    public static JournalEntry CustomerCreditApplied(string invoiceId, string currency, long amountMinor) =>
        Move("invoice", invoiceId, "credit_applied", currency, amountMinor, Chart.CustomerCredit, Chart.Receivable);

    /// <summary>Prepaid credits used up: DR deferred revenue; CR usage revenue.</summary>
    public static JournalEntry PrepaidCreditsConsumed(string sourceType, string sourceId, string currency, long amountMinor) =>
        Move(sourceType, sourceId, "prepaid_consumed", currency, amountMinor, Chart.Deferred, Chart.UsageRevenue);

    /// <summary>
    /// Prepaid credits a purchase granted, recognised as usage revenue as they are used: DR 2100 / CR 4001 for
    /// <paramref name="amountMinor"/>, the step that brings the bucket's recognised total to
    /// <paramref name="recognizedThrough"/>. The cumulative total names the entry, so each step posts once
    /// and a rerun of the same step posts nothing.
    /// </summary>
    public static JournalEntry PrepaidCreditsRecognized(string bucketId, string currency, long amountMinor, long recognizedThrough) =>
        Move("credit_grant", bucketId, $"prepaid_consumed_{recognizedThrough}", currency, amountMinor, Chart.Deferred, Chart.UsageRevenue);

    private static JournalEntry Move(string type, string id, string action, string currency, long amountMinor, LedgerAccount debit, LedgerAccount credit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountMinor);
        return JournalEntry.Create(new EntrySource(type, id, action), currency, [(debit, amountMinor), (credit, -amountMinor)]);
    }
}

/// <summary>One account's totals in a trial balance; <c>Balance</c> is on the account's normal side.</summary>
public sealed record TrialBalanceRow(LedgerAccount Account, long Debit, long Credit, long Balance);

/// <summary>The trial balance of a set of entries of one currency (spec §9): debits equal credits.</summary>
public sealed record TrialBalance(IReadOnlyList<TrialBalanceRow> Accounts, long Debits, long Credits)
{
    public static TrialBalance Of(IEnumerable<JournalEntry> entries)
    {
        var rows = Chart.All.ToDictionary(a => a.Code, a => (Account: a, Debit: 0L, Credit: 0L), StringComparer.Ordinal);
        foreach (var line in entries.SelectMany(e => e.Lines))
        {
            var row = rows[line.Account.Code];
            rows[line.Account.Code] = (row.Account, checked(row.Debit + line.Debit), checked(row.Credit + line.Credit));
        }
        var list = rows.Values.OrderBy(r => r.Account.Code, StringComparer.Ordinal)
            .Select(r => new TrialBalanceRow(r.Account, r.Debit, r.Credit, r.Account.DebitNormal ? r.Debit - r.Credit : r.Credit - r.Debit))
            .ToList();
        return new TrialBalance(list, list.Sum(r => r.Debit), list.Sum(r => r.Credit));
    }

    /// <summary>The balance of one account by code (0 when it has no movement).</summary>
    public long BalanceOf(LedgerAccount account) => Accounts.Single(r => r.Account.Code == account.Code).Balance;
}
