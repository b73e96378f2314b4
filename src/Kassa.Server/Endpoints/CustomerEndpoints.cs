using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Customers;
using Kassa.Engine.Resources;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §2: customers.</summary>
public static class CustomerEndpoints
{
    private const string Tag = "Customers";

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapPost("/customers", (HttpContext http, Api api) =>
                api.Mutate<CreateCustomer.Request, Kassa.Engine.Storage.CustomerRecord>(http, CreateCustomer.Execute,
                    c => new Reply(StatusCodes.Status201Created, CustomerResource.From(c))))
            .Doc("createCustomer", "Create a customer", Tag)
            .Body<CreateCustomer.Request>()
            .Produces<CustomerResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType)
            .MutationErrors(404);

        v1.MapPut("/customers/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate<CustomerPatch, UpsertCustomer.Outcome>(http, (s, op, body) => UpsertCustomer.Execute(s, op, id, body),
                    o => new Reply(o.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, CustomerResource.From(o.Customer))))
            .Doc("upsertCustomer", "Get or create a customer (201 when created, 200 otherwise)", Tag)
            .Body<CustomerPatch>()
            .Produces<CustomerResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .Produces<CustomerResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType)
            .MutationErrors();

        v1.MapGet("/customers/{id}", (HttpContext http, Api api, TimeProvider time, string id) =>
                api.Read(http, (s, tenant) => GetCustomer.Execute(s, tenant, id, time.GetUtcNow())))
            .Doc("getCustomer", "Retrieve a customer with subscriptions, balances and flags", Tag)
            .Produces<CustomerDetailResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .Errors(404);

        v1.MapPatch("/customers/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate<CustomerPatch, Kassa.Engine.Storage.CustomerRecord>(http, (s, op, body) => UpdateCustomer.Execute(s, op, id, body),
                    c => new Reply(StatusCodes.Status200OK, CustomerResource.From(c))))
            .Doc("updateCustomer", "Update a customer's name, email, address or metadata (null clears a field)", Tag)
            .Body<CustomerPatch>()
            .Produces<CustomerResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);

        v1.MapDelete("/customers/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => DeleteCustomer.Execute(s, op, id),
                    c => new Reply(StatusCodes.Status200OK, new DeletedResource(c.Id, "customer", true))))
            .Doc("deleteCustomer", "Archive a customer", Tag)
            .Produces<DeletedResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);

        v1.MapGet("/customers", (HttpContext http, Api api, string? email, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, tenant, page) => ListCustomers.Execute(s, tenant, email, page)))
            .Doc("listCustomers", "List customers, newest first", Tag)
            .Produces<ListResource<CustomerResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .Errors(400);
    }
}
