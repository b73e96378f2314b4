using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Entities;

/// <summary>
/// <c>POST /v1/customers/{id}/entities</c>: an entity uses one unit of its feature (a seat). When the
/// seats are used up and overage is blocked it is refused with <c>409 limit_reached</c>. It receives
/// the per-entity balances of the customer's products. One transaction: the seat, the entity and its
/// balances appear together or not at all.
/// </summary>
public static class CreateEntity
{
    public sealed record Request(string? Id, string? FeatureId, string? Name);

    public static async Task<Result<EntityRecord>> Execute(IStoreSession s, OperationContext op, string customerId, Request r)
    {
        if (r.Id is null) return KassaError.Missing("id");
        if (r.FeatureId is null) return KassaError.Missing("feature_id");
        var errors = new List<FieldError>();
        if (Rules.CustomerId(r.Id) is { } idProblem) errors.Add(new FieldError("id", idProblem));
        if (Rules.Slug(r.FeatureId) is { } f) errors.Add(new FieldError("feature_id", f));
        if (Rules.Text(r.Name, Rules.NameLengthMax) is { } n) errors.Add(new FieldError("name", n));
        if (errors.Count > 0) return KassaError.Validation(errors);

        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, customerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", customerId);
        var existing = await s.Entities.GetAsync(op.Tenant, customer.Id, r.Id);
        if (existing is { DeletedAt: null }) return new KassaError(ErrorCodes.AlreadyExists, $"Entity '{r.Id}' already exists", "id");

        var book = await BalanceBook.LoadAsync(s, op.Tenant, [customer.Id], [], forUpdate: true, op.Now);
        var seats = book.Get(customer.Id, r.FeatureId, "", op.Now);
        if (seats is null || seats.Header.IsFlag)
            return new KassaError(ErrorCodes.LimitReached, $"Customer '{customer.Id}' has no '{r.FeatureId}' allowance to create entities from", "feature_id");
        if (!seats.Header.Unlimited && seats.Header.OveragePolicy == OveragePolicy.Blocked && seats.Balance.Remaining(op.Now) < Micro.PerUnit)
            return new KassaError(ErrorCodes.LimitReached, $"All '{r.FeatureId}' of customer '{customer.Id}' are in use", "feature_id");
        try
        {
            seats.Balance.Consume(Micro.PerUnit, op.Now);
        }
        catch (BalanceOverflowException e)
        {
            return new KassaError(ErrorCodes.QuantityOverflow, e.Message, "feature_id");
        }
        seats.Touched = true;
        seats.Header.UpdatedAt = op.Now;
        await BalanceWrites.SaveAsync(s, seats, op.Now, "entity", r.Id);

        var entity = new EntityRecord(op.Tenant.AccountId, op.Tenant.Livemode, customer.Id, r.Id, r.FeatureId, r.Name, op.Now, null);
        if (existing is null) await s.Entities.InsertAsync(entity);
        else await s.Entities.UpdateAsync(entity);
        // A refusal rolls the whole transaction back: the seat, the entity and its balances together.
        if (await AttachProduct.GrantEntity(s, op, book, customer.Id, r.Id, r.FeatureId) is { } refused) return refused;
        await RecordAudit.Execute(s, op, "entity.created", "entity", r.Id, ["feature_id", "name"]);
        return entity;
    }
}
