using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary><c>POST /v1/features</c>: a boolean, metered or credit_system feature; the id is a slug you choose.</summary>
public static class CreateFeature
{
    public const int UnitLengthMax = 64;

    public sealed record Request(string? Id, string? Name, string? Type, string? Unit, List<CreditSchemaEntry>? CreditSchema, decimal? LowBalanceThreshold);

    /// <summary>A threshold is a non-negative quantity on a feature that has a balance.</summary>
    public static long? Threshold(decimal? value, string? type, List<FieldError> errors)
    {
        if (value is not { } v) return null;
        if (type == "boolean") errors.Add(new FieldError("low_balance_threshold", "a boolean feature has no balance"));
        else if (v < 0 || !Kassa.Core.Balances.Micro.TryFromDecimal(v, out var micro)) errors.Add(new FieldError("low_balance_threshold", "must be zero or more with at most 6 fractional digits"));
        else return micro;
        return null;
    }

    public static async Task<Result<FeatureRecord>> Execute(IStoreSession session, OperationContext op, Request request)
    {
        if (request.Id is null) return KassaError.Missing("id");
        if (request.Type is null) return KassaError.Missing("type");
        var errors = new List<FieldError>();
        if (Rules.Slug(request.Id) is { } slug) errors.Add(new FieldError("id", slug));
        CatalogRules.Name(request.Name, "name", errors);
        if (!CatalogRules.FeatureTypes.Contains(request.Type)) errors.Add(new FieldError("type", "must be boolean, metered or credit_system"));
        if (Rules.Text(request.Unit, UnitLengthMax) is { } unit) errors.Add(new FieldError("unit", unit));
        var threshold = Threshold(request.LowBalanceThreshold, request.Type, errors);
        if (request.Type == "credit_system")
        {
            var ids = (request.CreditSchema ?? []).Select(e => e.FeatureId).OfType<string>().ToList();
            var known = (await session.Catalog.GetFeaturesAsync(op.Tenant, ids)).ToDictionary(f => f.Id);
            CatalogRules.CreditSchema(request.CreditSchema, known, request.Id, errors);
        }
        else if (request.CreditSchema is not null)
        {
            errors.Add(new FieldError("credit_schema", "applies only to credit_system features"));
        }
        if (errors.Count > 0) return KassaError.Validation(errors);

        var feature = new FeatureRecord(op.Tenant.AccountId, op.Tenant.Livemode, request.Id, request.Name!, request.Type, request.Unit,
            request.Type == "credit_system" ? request.CreditSchema : null, null, op.Now, op.Now, threshold);
        if (!await session.Catalog.TryInsertFeatureAsync(feature))
            return new KassaError(ErrorCodes.AlreadyExists, $"A feature with id '{request.Id}' already exists", "id");
        await RecordAudit.Execute(session, op, "feature.created", "feature", feature.Id, ["name", "type", "unit", "credit_schema"]);
        await EmitEvent.Execute(session, op, EventTypes.FeatureCreated, "feature", feature.Id, FeatureResource.From(feature));
        return feature;
    }
}
