using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>POST /v1/features/{id}/archive</c>: no new product version may use it; products and balances
/// that already do keep working. Archiving twice answers the archived feature again.
/// </summary>
public static class ArchiveFeature
{
    public static async Task<Result<FeatureRecord>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var existing = await session.Catalog.GetFeatureAsync(op.Tenant, id, forUpdate: true);
        if (existing is null) return KassaError.NotFound("feature", id);
        if (existing.ArchivedAt is not null) return existing;
        var archived = existing with { ArchivedAt = op.Now, UpdatedAt = op.Now };
        await session.Catalog.UpdateFeatureAsync(archived);
        await RecordAudit.Execute(session, op, "feature.archived", "feature", id, ["archived"]);
        await EmitEvent.Execute(session, op, EventTypes.FeatureArchived, "feature", id, FeatureResource.From(archived),
            new Dictionary<string, object?> { ["archived"] = false });
        return archived;
    }
}
