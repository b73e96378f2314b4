using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Resources;
using Kassa.Engine.Subscriptions;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §5: check, track, locks, balances, grants; and §4.1 subscribe (free products for now).</summary>
public static class EntitlementEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Entitlements";
        v1.MapPost("/check", (HttpContext http, Api api) => Check(http, api, alone: false))
            .Doc("check", "Is the customer allowed to use a feature? Optionally deduct (send_event) or hold (lock) atomically", tag)
            .Body<Kassa.Engine.Balances.Check.Request>().Produces<CheckResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors();
        v1.MapPost("/track", (HttpContext http, Api api) => Track(http, api, alone: false))
            .Doc("track", "Record usage that happened (negative values correct it)", tag)
            .Body<Kassa.Engine.Balances.Track.Request>().Produces<TrackResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/locks/{id}/finalize", (HttpContext http, Api api, string id) =>
                api.Balance<FinalizeLock.Request, FinalizeLockOp, FinalizeResponse>(http, (b, op) => FinalizeLock.Validate(b, id, op.Tenant, op.RequestId, op.Now)))
            .Doc("finalizeLock", "Confirm (consume) or release a lock", tag)
            .Body<FinalizeLock.Request>().Produces<FinalizeResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        v1.MapGet("/customers/{id}/balances", (HttpContext http, Api api, TimeProvider time, string id, string? entity_id) =>
                api.Read(http, (s, t) => ReadBalances.List(s, t, id, entity_id, time.GetUtcNow())))
            .Doc("listBalances", "A customer's balances", tag)
            .Produces<ListResource<BalanceView>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPost("/customers/{id}/balances/adjust", (HttpContext http, Api api, string id) =>
                api.Mutate<AdjustBalance.Request, BalanceView>(http, (s, op, b) => AdjustBalance.Execute(s, op, id, b), v => new Reply(200, v)))
            .Doc("adjustBalance", "Set a balance's usage or granted total directly (admin), logged as adjust", tag)
            .Body<AdjustBalance.Request>().Produces<BalanceView>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string entities = "Entities";
        v1.MapPost("/customers/{id}/entities", (HttpContext http, Api api, string id) =>
                api.Mutate<Kassa.Engine.Entities.CreateEntity.Request, Kassa.Engine.Storage.EntityRecord>(http, (s, op, b) => Kassa.Engine.Entities.CreateEntity.Execute(s, op, id, b),
                    e => new Reply(StatusCodes.Status201Created, Kassa.Engine.Entities.EntityResource.From(e))))
            .Doc("createEntity", "Create an entity (a seat): uses one unit of its feature; 409 limit_reached when none is left", entities)
            .Body<Kassa.Engine.Entities.CreateEntity.Request>().Produces<Kassa.Engine.Entities.EntityResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType)
            .MutationErrors(404);
        v1.MapDelete("/customers/{id}/entities/{entity_id}", (HttpContext http, Api api, string id, string entity_id) =>
                api.Mutate(http, (s, op) => Kassa.Engine.Entities.DeleteEntity.Execute(s, op, id, entity_id), e => new Reply(200, new DeletedResource(e.Id, "entity", true))))
            .Doc("deleteEntity", "Delete an entity and free the unit it used", entities)
            .Produces<DeletedResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/customers/{id}/entities", (HttpContext http, Api api, string id, string? limit, string? starting_after) => 
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => Kassa.Engine.Entities.ListEntities.Execute(s, t, id, page)))
            .Doc("listEntities", "A customer's entities, oldest first", entities)
            .Produces<ListResource<Kassa.Engine.Entities.EntityResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);

        v1.MapPost("/customers/{id}/auto_top_up", (HttpContext http, Api api, string id) =>
                api.Mutate<Kassa.Engine.TopUps.SetAutoTopUp.Request, Kassa.Engine.TopUps.AutoTopUpRecord>(http, (s, op, b) => Kassa.Engine.TopUps.SetAutoTopUp.Execute(s, op, id, b),
                    t => new Reply(200, Kassa.Engine.TopUps.AutoTopUpResource.From(t))))
            .Doc("setAutoTopUp",
                "Set a customer's auto top-up for a feature: when its remaining falls below threshold, a worker buys quantity of the one-time product "
                + "with the default payment method, at most once per 10 minutes; a failed attempt disarms it (status failed) until it is set again "
                + "or the customer gets a new default payment method. Setting again replaces and re-arms", tag)
            .Body<Kassa.Engine.TopUps.SetAutoTopUp.Request>().Produces<Kassa.Engine.TopUps.AutoTopUpResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);
        v1.MapGet("/customers/{id}/auto_top_up", (HttpContext http, Api api, string id, string? feature_id) =>
                api.Read(http, (s, tenant) => Kassa.Engine.TopUps.GetAutoTopUp.Execute(s, tenant, id, feature_id)))
            .Doc("getAutoTopUp", "A customer's auto top-up of a feature: the settings, status (armed, failed, disabled) and the last attempt", tag)
            .Produces<Kassa.Engine.TopUps.AutoTopUpResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);

        v1.MapPut("/customers/{id}/spend_caps/{feature_id}", (HttpContext http, Api api, string id, string feature_id) =>
                api.Mutate<Kassa.Engine.SpendCaps.SetSpendCap.Request, Kassa.Engine.SpendCaps.SpendCapRecord>(http,
                    (s, op, b) => Kassa.Engine.SpendCaps.SetSpendCap.Execute(s, op, id, feature_id, b),
                    c => new Reply(200, Kassa.Engine.SpendCaps.SpendCapResource.From(c))))
            .Doc("setSpendCap", "Cap what a customer's billed overage of a feature may cost per period (check then denies with spend_cap_reached)", tag)
            .Body<Kassa.Engine.SpendCaps.SetSpendCap.Request>().Produces<Kassa.Engine.SpendCaps.SpendCapResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);
        v1.MapDelete("/customers/{id}/spend_caps/{feature_id}", (HttpContext http, Api api, string id, string feature_id) =>
                api.Mutate(http, (s, op) => Kassa.Engine.SpendCaps.DeleteSpendCap.Execute(s, op, id, feature_id),
                    c => new Reply(200, new DeletedResource(c.FeatureId, "spend_cap", true))))
            .Doc("deleteSpendCap", "Remove a customer's spend cap on a feature", tag)
            .Produces<DeletedResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        const string grants = "Credit grants";
        v1.MapPost("/credit_grants", (HttpContext http, Api api) =>
                api.Mutate<CreateCreditGrant.Request, CreditGrantResource>(http, CreateCreditGrant.Execute, g => new Reply(StatusCodes.Status201Created, g)))
            .Doc("createCreditGrant", "Grant credits or units to a customer's balance", grants)
            .Body<CreateCreditGrant.Request>().Produces<CreditGrantResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapPost("/credit_grants/{id}/void", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => VoidCreditGrant.Execute(s, op, id), g => new Reply(200, g)))
            .Doc("voidCreditGrant", "Remove what is left of a grant", grants)
            .Produces<CreditGrantResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/credit_grants", (HttpContext http, Api api, string? customer_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListCreditGrants.Execute(s, t, customer_id, page)))
            .Doc("listCreditGrants", "List credit grants, newest first", grants)
            .Produces<ListResource<CreditGrantResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapGet("/credit_grants/summary", (HttpContext http, Api api, TimeProvider time, string? customer_id) =>
                api.Read(http, (s, t) => SummarizeCreditGrants.Execute(s, t, customer_id, time.GetUtcNow())))
            .Doc("summarizeCreditGrants", "Per-feature totals of a customer's live grants", grants)
            .Produces<SummarizeCreditGrants.Summary>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);
        v1.MapGet("/credit_transactions", (HttpContext http, Api api, string? customer_id, string? feature_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListCreditTransactions.Execute(s, t, customer_id, feature_id, page)))
            .Doc("listCreditTransactions", "Every balance movement, newest first", grants)
            .Produces<ListResource<CreditTransactionResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
    }

    /// <summary>
    /// Bench-only twins of check and track that decide each request in a transaction of its own
    /// (same rules, same writes, no group commit): the baseline the benchmark measures against.
    /// Mapped only when KASSA_BENCH_ROUTES=1.
    /// </summary>
    public static void MapBaseline(WebApplication app)
    {
        var bench = app.MapGroup("/v1/bench_baseline").ExcludeFromDescription();
        bench.MapPost("/check", (HttpContext http, Api api) => Check(http, api, alone: true));
        bench.MapPost("/track", (HttpContext http, Api api) => Track(http, api, alone: true));
        // A check's HTTP path without its storage: the ceiling of /v1/check on this machine (bench/README.md). The same
        // decided check carried through the balance engine's queue and writer loop (check_queued), and also through a
        // batch transaction with its marker and durable COMMIT (check_committed): the ceilings of each step of the path.
        bench.MapPost("/check_without_storage", (HttpContext http, Api api) => BenchCheck(http, api, null));
        bench.MapPost("/check_queued", (HttpContext http, Api api) => BenchCheck(http, api, BenchStage.Queued));
        bench.MapPost("/check_committed", (HttpContext http, Api api) => BenchCheck(http, api, BenchStage.Committed));
    }

    private static Task BenchCheck(HttpContext http, Api api, BenchStage? through) =>
        api.BenchCeiling<Kassa.Engine.Balances.Check.Request, CheckOp, CheckResponse>(http,
            (b, op) => Kassa.Engine.Balances.Check.Validate(b, op.Tenant, op.RequestId, op.Now),
            op => new CheckResponse(true, op.CustomerId, op.FeatureId, null,
                new BalanceView(op.FeatureId, 1_000_000_000m, 1m, 999_999_999m, 0m, 0m, false, null, OveragePolicy.Allowed), null), through);

    // Check, track and finalize are validated and decided by their use cases (Kassa.Engine.Balances.Check,
    // Track, FinalizeLock); Api.Balance adds the request-level Idempotency-Key (spec §1.3) around them.
    private static Task Check(HttpContext http, Api api, bool alone) =>
        api.Balance<Kassa.Engine.Balances.Check.Request, CheckOp, CheckResponse>(http,
            (b, op) => Kassa.Engine.Balances.Check.Validate(b, op.Tenant, op.RequestId, op.Now),
            op => Kassa.Engine.Balances.Check.IsReadOnly(op) ? s => ApplyBalanceBatch.CheckReadOnly(s, op) : null, alone);

    private static Task Track(HttpContext http, Api api, bool alone) =>
        api.Balance<Kassa.Engine.Balances.Track.Request, TrackOp, TrackResponse>(http,
            (b, op) => Kassa.Engine.Balances.Track.Validate(b, op.Tenant, op.RequestId, op.Now), alone: alone);
}
