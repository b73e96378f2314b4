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
    public static readonly TimeSpan LockTtlMax = TimeSpan.FromHours(24);
    // A track's timestamp follows the meter events' rule (spec §6): usage from 35 days back to 5 minutes ahead.
    public static readonly TimeSpan TrackPastMax = Kassa.Core.Metering.MeterEventInput.DedupeWindow;
    public static readonly TimeSpan TrackFutureMax = Kassa.Core.Metering.MeterEventInput.FutureSkew;

    public sealed record LockOptions(bool? Enabled, DateTimeOffset? ExpiresAt);

    public sealed record CheckRequest(string? CustomerId, string? FeatureId, string? EntityId, decimal? RequiredBalance, bool? SendEvent, LockOptions? Lock,
        string? IdempotencyKey, Dictionary<string, System.Text.Json.JsonElement>? Properties);

    public sealed record TrackRequest(string? CustomerId, string? FeatureId, decimal? Value, string? EntityId, string? IdempotencyKey, DateTimeOffset? Timestamp,
        Dictionary<string, System.Text.Json.JsonElement>? Properties);

    public sealed record FinalizeRequest(string? Action, decimal? OverrideValue);

    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Entitlements";
        v1.MapPost("/check", (HttpContext http, Api api, Kassa.Engine.Storage.IKassaStore store, TimeProvider time) => Check(http, api, store, time, alone: false))
            .Doc("check", "Is the customer allowed to use a feature? Optionally deduct (send_event) or hold (lock) atomically", tag)
            .Body<CheckRequest>().Produces<CheckResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/track", (HttpContext http, Api api, TimeProvider time) => Track(http, api, time, alone: false))
            .Doc("track", "Record usage that happened (negative values correct it)", tag)
            .Body<TrackRequest>().Produces<TrackResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);
        v1.MapPost("/locks/{id}/finalize", (HttpContext http, Api api, TimeProvider time, string id) => Finalize(http, api, time, id))
            .Doc("finalizeLock", "Confirm (consume) or release a lock", tag)
            .Body<FinalizeRequest>().Produces<FinalizeResponse>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404, 409);

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
        v1.MapGet("/customers/{id}/entities", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => Kassa.Engine.Entities.ListEntities.Execute(s, t, id)))
            .Doc("listEntities", "A customer's entities", entities)
            .Produces<ListResource<Kassa.Engine.Entities.EntityResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);

        v1.MapPost("/customers/{id}/auto_top_up", (HttpContext http, Api api, string id) =>
                api.Mutate<Kassa.Engine.TopUps.SetAutoTopUp.Request, Kassa.Engine.TopUps.AutoTopUpRecord>(http, (s, op, b) => Kassa.Engine.TopUps.SetAutoTopUp.Execute(s, op, id, b),
                    t => new Reply(200, Kassa.Engine.TopUps.AutoTopUpResource.From(t))))
            .Doc("setAutoTopUp", "Store auto top-up settings for a customer's feature (the purchase arrives with payments)", tag)
            .Body<Kassa.Engine.TopUps.SetAutoTopUp.Request>().Produces<Kassa.Engine.TopUps.AutoTopUpResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);

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

        v1.MapPost("/subscribe", (HttpContext http, Api api) =>
                api.Mutate<Subscribe.Request, Subscribe.Response>(http, Subscribe.Execute, r => new Reply(200, r)))
            .Doc("subscribe", "Attach a product to a customer (free products: active at once)", "Subscriptions")
            .Body<Subscribe.Request>().Produces<Subscribe.Response>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);
    }

    private static KassaError? Quantity(decimal value, string field, bool allowNegative, out long micro)
    {
        micro = 0;
        if (!Micro.TryFromDecimal(value, out micro)) return KassaError.Validation(field, "may have at most 6 fractional digits and must be below 9e12");
        if (!allowNegative && micro <= 0) return KassaError.Validation(field, "must be greater than zero");
        return null;
    }

    private static KassaError? Ids(string? customerId, string? featureId, string? entityId)
    {
        if (customerId is null) return KassaError.Missing("customer_id");
        if (featureId is null) return KassaError.Missing("feature_id");
        if (Rules.CustomerId(customerId) is { } c) return KassaError.Validation("customer_id", c);
        if (Rules.Slug(featureId) is { } f) return KassaError.Validation("feature_id", f);
        if (entityId is not null && Rules.CustomerId(entityId) is { } e) return KassaError.Validation("entity_id", e);
        return null;
    }

    /// <summary>The Idempotency-Key header stands for the body's idempotency_key on these routes (one key per customer, kept 30 days).</summary>
    private static string? IdempotencyKey(HttpContext http, string? body, out KassaError? error)
    {
        error = null;
        var key = body ?? (http.Request.Headers.TryGetValue(Api.IdempotencyKeyHeader, out var h) ? h.ToString() : null);
        if (key is not null && Rules.IdempotencyKey(key) is { } problem) error = KassaError.Validation(body is null ? Api.IdempotencyKeyHeader : "idempotency_key", problem);
        return key;
    }

    /// <summary>
    /// Bench-only twins of check and track that decide each request in a transaction of its own
    /// (same rules, same writes, no group commit): the baseline the benchmark measures against.
    /// Mapped only when KASSA_BENCH_ROUTES=1.
    /// </summary>
    public static void MapBaseline(WebApplication app)
    {
        var bench = app.MapGroup("/v1/bench_baseline").ExcludeFromDescription();
        bench.MapPost("/check", (HttpContext http, Api api, Kassa.Engine.Storage.IKassaStore store, TimeProvider time) => Check(http, api, store, time, alone: true));
        bench.MapPost("/track", (HttpContext http, Api api, TimeProvider time) => Track(http, api, time, alone: true));
    }

    private static async Task Check(HttpContext http, Api api, Kassa.Engine.Storage.IKassaStore store, TimeProvider time, bool alone)
    {
        var body = await api.ReadBody<CheckRequest>(http);
        if (body is null) return;
        var now = time.GetUtcNow();
        var error = Ids(body.CustomerId, body.FeatureId, body.EntityId) ?? Quantity(body.RequiredBalance ?? 1, "required_balance", false, out var required);
        var key = IdempotencyKey(http, body.IdempotencyKey, out var keyError);
        error ??= keyError;
        DateTimeOffset? lockUntil = null;
        if (error is null && body.Lock is { Enabled: true } l)
        {
            lockUntil = l.ExpiresAt ?? now + ApplyBalanceBatch.LockTtlDefault;
            if (lockUntil <= now || lockUntil > now + LockTtlMax) error = KassaError.Validation("lock.expires_at", "must be in the future and at most 24 hours ahead");
        }
        if (error is not null)
        {
            await ApiResponses.WriteError(http, error);
            return;
        }
        Micro.TryFromDecimal(body.RequiredBalance ?? 1, out required);
        var p = http.Principal();
        var op = new CheckOp(p.Tenant, http.RequestId(), now, body.CustomerId!, body.FeatureId!, body.EntityId ?? "", required, body.SendEvent ?? false, lockUntil, key);
        if (!op.SendEvent && lockUntil is null)
        {
            var answer = await store.ReadAsync(s => ApplyBalanceBatch.CheckReadOnly(s, op), http.RequestAborted);
            await ApiResponses.WriteJson(http, 200, answer);
            return;
        }
        await api.Engine(http, op, r => r, alone);
    }

    private static async Task Track(HttpContext http, Api api, TimeProvider time, bool alone)
    {
        var body = await api.ReadBody<TrackRequest>(http);
        if (body is null) return;
        var now = time.GetUtcNow();
        var error = Ids(body.CustomerId, body.FeatureId, body.EntityId) ?? Quantity(body.Value ?? 1, "value", true, out _);
        var key = IdempotencyKey(http, body.IdempotencyKey, out var keyError);
        error ??= keyError;
        if (error is null && body.Timestamp is { } ts && (ts < now - TrackPastMax || ts > now + TrackFutureMax))
            error = KassaError.Validation("timestamp", "must be within the last 35 days and at most 5 minutes ahead");
        if (error is not null)
        {
            await ApiResponses.WriteError(http, error);
            return;
        }
        Micro.TryFromDecimal(body.Value ?? 1, out var value);
        var p = http.Principal();
        await api.Engine(http, new TrackOp(p.Tenant, http.RequestId(), now, body.CustomerId!, body.FeatureId!, body.EntityId ?? "", value, key, body.Timestamp ?? now), r => r, alone);
    }

    private static async Task Finalize(HttpContext http, Api api, TimeProvider time, string id)
    {
        var body = await api.ReadBody<FinalizeRequest>(http);
        if (body is null) return;
        KassaError? error = body.Action is null ? KassaError.Missing("action")
            : body.Action is not ("confirm" or "release") ? KassaError.Validation("action", "must be confirm or release") : null;
        long? overrideValue = null;
        if (error is null && body.OverrideValue is { } o)
        {
            if (body.Action != "confirm") error = KassaError.Validation("override_value", "applies only to confirm");
            else if (!Micro.TryFromDecimal(o, out var m) || m < 0) error = KassaError.Validation("override_value", "must be zero or more with at most 6 fractional digits");
            else overrideValue = m;
        }
        if (error is not null)
        {
            await ApiResponses.WriteError(http, error);
            return;
        }
        var p = http.Principal();
        await api.Engine(http, new FinalizeLockOp(p.Tenant, http.RequestId(), time.GetUtcNow(), id, body.Action == "confirm", overrideValue), r => r);
    }
}
