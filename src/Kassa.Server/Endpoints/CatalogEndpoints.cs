using Kassa.Core.Keys;
using Kassa.Engine.Catalog;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §3: features, products, versions and the pricing table.</summary>
public static class CatalogEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string features = "Features";
        v1.MapPost("/features", (HttpContext http, Api api) =>
                api.Mutate<CreateFeature.Request, FeatureRecord>(http, CreateFeature.Execute, f => new Reply(StatusCodes.Status201Created, FeatureResource.From(f))))
            .Doc("createFeature", "Create a feature (boolean, metered or credit_system)", features)
            .Body<CreateFeature.Request>().Produces<FeatureResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();

        v1.MapGet("/features", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListFeatures.Execute))
            .Doc("listFeatures", "List features, newest first", features)
            .Produces<ListResource<FeatureResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);

        v1.MapGet("/features/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetFeature.Execute(s, t, id)))
            .Doc("getFeature", "Retrieve a feature", features)
            .Produces<FeatureResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPatch("/features/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate<UpdateFeature.Request, FeatureRecord>(http, (s, op, b) => UpdateFeature.Execute(s, op, id, b), f => new Reply(200, FeatureResource.From(f))))
            .Doc("updateFeature", "Update a feature's name or unit", features)
            .Body<UpdateFeature.Request>().Produces<FeatureResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapPost("/features/{id}/archive", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ArchiveFeature.Execute(s, op, id), f => new Reply(200, FeatureResource.From(f))))
            .Doc("archiveFeature", "Archive a feature: new product versions can no longer use it", features)
            .Produces<FeatureResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string products = "Products";
        v1.MapPost("/products", (HttpContext http, Api api) =>
                api.Mutate<CreateProduct.Request, ProductResource>(http, CreateProduct.Execute, p => new Reply(StatusCodes.Status201Created, p)))
            .Doc("createProduct", "Create a product with its prices and features (version 1)", products)
            .Body<CreateProduct.Request>().Produces<ProductResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();

        v1.MapGet("/products", (HttpContext http, Api api, string? include_archived, string? limit, string? starting_after) =>
            {
                if (include_archived is not (null or "true" or "false"))
                    return ApiResponses.WriteError(http, Kassa.Core.Errors.KassaError.Validation("include_archived", "must be true or false"));
                return EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListProducts.Execute(s, t, include_archived == "true", page));
            })
            .Doc("listProducts", "List products with their current version, newest first", products)
            .Produces<ListResource<ProductResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);

        v1.MapGet("/products/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetProduct.Execute(s, t, id)))
            .Doc("getProduct", "Retrieve a product with its current version", products)
            .Produces<ProductResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPost("/products/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate<UpdateProduct.Request, ProductResource>(http, (s, op, b) => UpdateProduct.Execute(s, op, id, b), p => new Reply(200, p)))
            .Doc("updateProduct", "Update a product; changing prices or features of a version with subscribers makes a new version", products)
            .Body<UpdateProduct.Request>().Produces<ProductResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapPost("/products/{id}/archive", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ArchiveProduct.Execute(s, op, id), p => new Reply(200, p)))
            .Doc("archiveProduct", "Archive a product: it leaves the pricing table and cannot be attached", products)
            .Produces<ProductResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapPost("/products/{id}/migrate", (HttpContext http, Api api, string id) =>
                api.Mutate<MigrateProduct.Request, MigrateProduct.Migration>(http, (s, op, b) => MigrateProduct.Execute(s, op, id, b), m => new Reply(200, m)))
            .Doc("migrateProduct", "Move every subscription running on from_version to the latest version at its next renewal; answers how many this call scheduled", products)
            .Body<MigrateProduct.Request>().Produces<MigrateProduct.Migration>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapGet("/products/{id}/versions", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => ListProductVersions.Execute(s, t, id)))
            .Doc("listProductVersions", "List a product's versions, newest first", products)
            .Produces<ListResource<ProductVersionResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapGet("/pricing_table", (HttpContext http, Api api, string? customer_id) => api.Read(http, (s, t) => GetPricingTable.Execute(s, t, customer_id)))
            .Doc("getPricingTable", "Products with formatted prices and, given a customer, each product's scenario (publishable key allowed)", products)
            .AllowKeys(KeyKind.Secret, KeyKind.Publishable)
            .Produces<ListResource<PricingTableItem>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404, 409);
    }
}
