using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Audit;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Entities;

/// <summary>
/// <c>DELETE /v1/customers/{id}/entities/{entity_id}</c>: frees the unit the entity used. Its
/// per-entity balances stay (an entity re-created with the same id finds them again).
/// </summary>
public static class DeleteEntity
{
    public static async Task<Result<EntityRecord>> Execute(IStoreSession s, OperationContext op, string customerId, string entityId)
    {
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var entity = await s.Entities.GetAsync(op.Tenant, customer.Id, entityId);
        if (entity is null || entity.DeletedAt is not null) return KassaError.NotFound("entity", entityId);
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customer.Id], [], forUpdate: true, op.Now);
        if (book.Get(customer.Id, entity.FeatureId, "", op.Now) is { } seats)
        {
            seats.Balance.Correct(Micro.PerUnit, op.Now);
            seats.Touched = true;
            seats.Header.UpdatedAt = op.Now;
            await BalanceWrites.SaveAsync(s, seats, op.Now, "entity", entityId);
        }
        var deleted = entity with { DeletedAt = op.Now };
        await s.Entities.UpdateAsync(deleted);
        await RecordAudit.Execute(s, op, "entity.deleted", "entity", entityId, ["deleted"]);
        return deleted;
    }
}

/// <summary>
/// <c>GET /v1/customers/{id}/entities</c>: the customer's live entities, oldest first, a page at a time
/// (<c>limit</c>, <c>starting_after</c>, <c>has_more</c>, <c>next_cursor</c> like every list).
/// </summary>
public static class ListEntities
{
    public static async Task<Result<Page<EntityResource>>> Execute(IStoreSession s, Tenant tenant, string customerId, PageRequest page)
    {
        var customer = await s.Customers.GetAsync(tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var rows = await s.Entities.ListAsync(tenant, customerId, null, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.CreatedAt), e.Id), EntityResource.From);
    }
}
