using Kassa.Core.Errors;
using Kassa.Engine.Payments;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Engine.TestClocks;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §11 test clocks (test mode).</summary>
public static class TestClockEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Test clocks";
        v1.MapPost("/test_clocks", (HttpContext http, Api api) =>
                api.Mutate<CreateTestClock.Request, TestClockResource>(http, CreateTestClock.Execute, c => new Reply(StatusCodes.Status201Created, c)))
            .Doc("createTestClock", "Create a test clock frozen at a time (test mode); customers created with its id live in its time", tag)
            .Body<CreateTestClock.Request>().Produces<TestClockResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors();
        v1.MapGet("/test_clocks/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => ReadTestClocks.Get(s, t, id)))
            .Doc("getTestClock", "A test clock", tag)
            .Produces<TestClockResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/test_clocks", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ReadTestClocks.List(s, t, page)))
            .Doc("listTestClocks", "Test clocks newest first", tag)
            .Produces<ListResource<TestClockResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapDelete("/test_clocks/{id}", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ReadTestClocks.Delete(s, op, id), c => new Reply(200, c)))
            .Doc("deleteTestClock", "Delete a test clock", tag)
            .Produces<TestClockResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/test_clocks/{id}/advance", (HttpContext http, Api api, IKassaStore store, PaymentProviders providers, string id) =>
                api.MutateThen<AdvanceTestClock.Request, AdvanceTestClock.Request, TestClockResource>(http,
                    (_, _, body) => Task.FromResult(Result<AdvanceTestClock.Request>.Ok(body)),
                    (body, op, ct) => AdvanceTestClock.Execute(store, providers, op, id, body, ct), c => new Reply(200, c)))
            .Doc("advanceTestClock", "Move the clock to `to`, running every renewal, trial end, cancellation and dunning retry due on the way, in time order", tag)
            .Body<AdvanceTestClock.Request>().Produces<TestClockResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
    }
}
