using System.Text.Json.Serialization;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CustomerCredit;

/// <summary>One change of a customer credit balance; <c>amount</c> is signed (positive: credit added).</summary>
public sealed record CreditBalanceTransactionResource(
    string Id, string Currency, string Type, long Amount, long BalanceAfter, string? Description, string? InvoiceId, string? CreditNoteId,
    DateTimeOffset CreatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "customer_credit_transaction";

    public static CreditBalanceTransactionResource From(CustomerCreditTransactionRecord t) =>
        new(t.Id, t.Currency, t.Type, t.Amount, t.BalanceAfter, t.Description, t.InvoiceId, t.CreditNoteId, t.CreatedAt);
}

/// <summary>What the account owes the customer in one currency, in minor units.</summary>
public sealed record CreditBalanceAmount(string Currency, long Balance);

/// <summary>
/// A customer's credit balance (spec §7): every currency with credit, and the newest transactions
/// (at most <see cref="GetCreditBalance.TransactionsShownMax"/>), newest first.
/// </summary>
public sealed record CreditBalanceResource(string CustomerId, IReadOnlyList<CreditBalanceAmount> Balances,
    IReadOnlyList<CreditBalanceTransactionResource> Transactions, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "customer_credit_balance";
}
