using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>PATCH /v1/features/{id}</c>: name and unit only. The type and a credit schema define what
/// balances mean, so they never change under existing balances; make a new feature instead.
/// </summary>
public static class UpdateFeature
{
    public sealed record Request(Optional<string> Name, Optional<string> Unit, Optional<decimal?> LowBalanceThreshold);

    public static async Task<Result<FeatureRecord>> Execute(IStoreSession session, OperationContext op, string id, Request request)
    {
        var errors = new List<FieldError>();
        if (request.Name.IsSet) CatalogRules.Name(request.Name.Value, "name", errors);
        if (Rules.Text(request.Unit.Value, CreateFeature.UnitLengthMax) is { } unit) errors.Add(new FieldError("unit", unit));
        if (errors.Count > 0) return KassaError.Validation(errors);
        var existing = await session.Catalog.GetFeatureAsync(op.Tenant, id, forUpdate: true);
        if (existing is null) return KassaError.NotFound("feature", id);
        var threshold = CreateFeature.Threshold(request.LowBalanceThreshold.Value, existing.Type, errors);
        if (errors.Count > 0) return KassaError.Validation(errors);
        var updated = existing with
        {
            Name = request.Name.Value ?? existing.Name,
            Unit = request.Unit.Or(existing.Unit),
            LowBalanceThreshold = request.LowBalanceThreshold.IsSet ? threshold : existing.LowBalanceThreshold,
        };
        var previous = new Dictionary<string, object?>();
        if (updated.Name != existing.Name) previous["name"] = existing.Name;
        if (updated.Unit != existing.Unit) previous["unit"] = existing.Unit;
        if (updated.LowBalanceThreshold != existing.LowBalanceThreshold)
            previous["low_balance_threshold"] = existing.LowBalanceThreshold is { } t ? Kassa.Core.Balances.Micro.ToDecimal(t) : null;
        if (previous.Count == 0) return existing;
        updated = updated with { UpdatedAt = op.Now };
        await session.Catalog.UpdateFeatureAsync(updated);
        await RecordAudit.Execute(session, op, "feature.updated", "feature", id, [.. previous.Keys]);
        await EmitEvent.Execute(session, op, EventTypes.FeatureUpdated, "feature", id, FeatureResource.From(updated), previous);
        return updated;
    }
}
