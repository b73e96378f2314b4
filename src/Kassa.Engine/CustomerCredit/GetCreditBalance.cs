using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.CustomerCredit;

/// <summary><c>GET /v1/customers/{id}/credit_balance</c>: the balance in every currency and the newest transactions.</summary>
public static class GetCreditBalance
{
    /// <summary>The newest transactions shown; the response stays bounded however long the history.</summary>
    public const int TransactionsShownMax = 100;

    public static async Task<Result<CreditBalanceResource>> Execute(IStoreSession s, Tenant tenant, string customerId)
    {
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var balances = await s.CustomerCredit.ForCustomerAsync(tenant, customer.Id);
        var transactions = await s.CustomerCredit.TransactionsAsync(tenant, customer.Id, TransactionsShownMax);
        return new CreditBalanceResource(customer.Id, [.. balances.Select(b => new CreditBalanceAmount(b.Currency, b.Balance))],
            [.. transactions.Select(CreditBalanceTransactionResource.From)], tenant.Livemode);
    }
}
