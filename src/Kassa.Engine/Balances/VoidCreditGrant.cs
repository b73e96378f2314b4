using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary><c>POST /v1/credit_grants/{id}/void</c>: removes what is left of a grant; what was used stays used.</summary>
public static class VoidCreditGrant
{
    public static async Task<Result<CreditGrantResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var found = await s.Balances.GetBucketAsync(op.Tenant, id);
        if (found is null || found.Bucket.Kind != BucketKind.Grant) return KassaError.NotFound("credit_grant", id);
        if (found.Bucket.Voided) return KassaError.InvalidState($"Credit grant '{id}' is already voided");
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [found.CustomerId], [], forUpdate: true, op.Now);
        var live = book.Get(found.CustomerId, found.FeatureId, found.EntityId, op.Now);
        if (live is null || !live.Buckets.TryGetValue(id, out var bucket))
        {
            // Expired and recorded long ago: not loaded with the live buckets, nothing left to void.
            return KassaError.InvalidState($"Credit grant '{id}' has expired; nothing is left to void");
        }
        live.Balance.Void(id);
        await BalanceWrites.SaveAsync(s, live, op.Now, "credit_grant", id);
        var resource = CreditGrantResource.From(bucket);
        await RecordAudit.Execute(s, op, "credit_grant.voided", "credit_grant", id, ["voided"]);
        await EmitEvent.Execute(s, op, EventTypes.CreditGrantVoided, "credit_grant", id, resource);
        return resource;
    }
}
