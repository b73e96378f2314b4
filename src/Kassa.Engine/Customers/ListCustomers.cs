using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary><c>GET /v1/customers</c>: newest first, optionally only those with one e-mail address.</summary>
public static class ListCustomers
{
    public static async Task<Result<Page<CustomerResource>>> Execute(IStoreSession session, Tenant tenant, string? email, PageRequest page)
    {
        if (email is not null && email.Length > Kassa.Core.Validation.Rules.EmailLengthMax)
            return KassaError.Validation("email", "is too long");
        var rows = await session.Customers.ListAsync(tenant, email, page.After, page.Limit + 1);
        return page.Build(rows, c => new Cursor(Micros.From(c.CreatedAt), c.Id), CustomerResource.From);
    }
}
