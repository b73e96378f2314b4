using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Ledger;
using Kassa.Core.Money;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CustomerCredit;

/// <summary>
/// <c>POST /v1/customers/{id}/credit_balance/adjustments</c>: a manual change of a customer's credit.
/// A positive amount grants credit (ledger DR 4950 / CR 2000); a negative one removes it (DR 2000 /
/// CR 4950) and never below zero (<c>409 invalid_state</c>). The balance, the transaction and the
/// entry commit together.
/// </summary>
public static class AdjustCreditBalance
{
    public const int DescriptionLengthMax = 500;

    public sealed record Request(long? Amount, string? Currency, string? Description);

    public static async Task<Result<CreditBalanceResource>> Execute(IStoreSession s, OperationContext op, string customerId, Request r)
    {
        if (r.Amount is null) return KassaError.Missing("amount");
        if (r.Currency is null) return KassaError.Missing("currency");
        if (r.Description is null) return KassaError.Missing("description");
        var errors = new List<FieldError>();
        if (r.Amount is 0 || r.Amount is < -Invoices.InvoiceRules.AmountMax or > Invoices.InvoiceRules.AmountMax)
            errors.Add(new FieldError("amount", $"must be a non-zero whole number of minor units from -{Invoices.InvoiceRules.AmountMax} to {Invoices.InvoiceRules.AmountMax}"));
        if (!Currencies.TryGet(r.Currency, out var currency)) errors.Add(new FieldError("currency", "must be a supported ISO 4217 currency code such as usd"));
        if (Rules.Text(r.Description, DescriptionLengthMax, allowEmpty: false) is { } d) errors.Add(new FieldError("description", d));
        if (errors.Count > 0) return KassaError.Validation(errors);

        // Locking the customer serialises adjustments with deletion and with each other.
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var id = op.NewId(IdPrefixes.CustomerCreditTransaction);
        var change = await CustomerCreditBook.ChangeAsync(s, op, customer.Id, currency!.Code, r.Amount.Value, CustomerCreditBook.Adjustment, r.Description,
            transactionId: id);
        if (change is null)
        {
            var balance = await CustomerCreditBook.LockedBalanceAsync(s, op.Tenant, customer.Id, currency.Code);
            return KassaError.InvalidState($"Customer '{customer.Id}' has {balance} {currency.Code} of credit; an adjustment cannot take the balance below 0");
        }
        await PostJournalEntry.Execute(s, op, Postings.CustomerCreditAdjusted(id, currency.Code, r.Amount.Value),
            $"Customer credit adjusted: {r.Description}", customer.Id);
        await RecordAudit.Execute(s, op, "customer.credit_balance_adjusted", "customer", customer.Id, ["credit_balance"]);
        return (await GetCreditBalance.Execute(s, op.Tenant, customer.Id)).Value;
    }
}
