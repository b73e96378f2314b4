using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Catalog;

/// <summary>Checks shared by create and update of products.</summary>
internal static class ProductInput
{
    public const int FreeTrialDaysMax = 730;

    public static void Check(string? group, FreeTrial? freeTrial, IReadOnlyDictionary<string, string>? metadata, List<FieldError> errors)
    {
        if (group is not null && Rules.Slug(group) is { } g) errors.Add(new FieldError("group", g));
        if (freeTrial is { } trial && (trial.Days < 1 || trial.Days > FreeTrialDaysMax))
            errors.Add(new FieldError("free_trial.days", $"must be from 1 to {FreeTrialDaysMax}"));
        Rules.Metadata(metadata, errors);
    }

    /// <summary>Validates prices and features against the tenant's features; fills defaults.</summary>
    public static async Task<(List<Price> Prices, List<ProductFeature> Features)?> Definition(
        IStoreSession session, Tenant tenant, IReadOnlyList<Price> prices, IReadOnlyList<ProductFeature> features, List<FieldError> errors)
    {
        var referenced = CatalogRules.ReferencedFeatures(prices, features);
        var known = referenced.Count > CatalogRules.FeaturesMax * 2
            ? new Dictionary<string, FeatureRecord>()
            : (await session.Catalog.GetFeaturesAsync(tenant, referenced)).ToDictionary(f => f.Id, StringComparer.Ordinal);
        return CatalogRules.Product(prices, features, known, errors);
    }

    /// <summary>Gives each price an id, keeping the id of an identical price in the previous version.</summary>
    public static List<Price> WithIds(IEnumerable<Price> prices, IReadOnlyList<Price> previous, OperationContext op)
    {
        var unused = previous.ToList();
        var result = new List<Price>();
        foreach (var p in prices)
        {
            var same = unused.FirstOrDefault(old => CatalogRules.SameOffer(old, p));
            if (same is not null) unused.Remove(same);
            result.Add(p with { Id = same?.Id ?? op.NewId(IdPrefixes.Price) });
        }
        return result;
    }
}
