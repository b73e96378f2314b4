using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Kassa.Engine.Balances;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Issue 11 items 5, 8 and 9 on both engines: every quantity bound holds at its edge and refuses one
/// past it (single values with validation_failed naming the field, sums with quantity_overflow, and
/// nothing stored); lists page instead of stopping at a count; the Idempotency-Key header on check,
/// track and finalize follows spec §1.3; <c>used</c> is the period's whole usage.
/// </summary>
public abstract class BalanceLimitTests(KassaHost host)
{
    /// <summary>The bound in units: 9 × 10¹² (Micro.MaxUnits).</summary>
    private const decimal Max = 9_000_000_000_000m;
    private const decimal OnePast = Max + 0.000001m;

    private static string Slug(string p) => $"{p}_{Guid.NewGuid():N}"[..(p.Length + 11)];

    private async Task<string> Feature(string type = "metered")
    {
        var id = Slug("f");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id, name = "F", type })).Status);
        return id;
    }

    private async Task<string> Customer()
    {
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "L" })).Status);
        return id;
    }

    /// <summary>A customer subscribed to a product with <paramref name="included"/> of a fresh feature and the given overage.</summary>
    private async Task<(string Customer, string Feature)> Subscribed(decimal included, string overage = "allowed", object? rollover = null)
    {
        var feature = await Feature();
        var product = Slug("p");
        var created = await host.Client().Post("/v1/products", new
        {
            id = product, name = "P", features = new object[] { new { feature_id = feature, included, reset = "month", overage, rollover } },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var customer = await Customer();
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        return (customer, feature);
    }

    private static void AssertBalance(JsonNode? balance, decimal granted, decimal used, decimal remaining, decimal overage, decimal held = 0)
    {
        Assert.NotNull(balance);
        Assert.Equal((granted, used, remaining, held, overage),
            ((decimal)balance!["granted"]!, (decimal)balance["used"]!, (decimal)balance["remaining"]!, (decimal)balance["held"]!, (decimal)balance["overage"]!));
    }

    private async Task<JsonNode?> Balance(string customer, string feature) =>
        (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray().SingleOrDefault(b => (string?)b!["feature_id"] == feature);

    private Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Track(string customer, string feature, decimal value, string? key = null,
        string? headerKey = null) =>
        host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value, idempotency_key = key }, headerKey);

    [Fact]
    public async Task Included_and_rollover_max_take_the_balance_bound_and_refuse_one_past_it()
    {
        var feature = await Feature();
        var atEdge = await host.Client().Post("/v1/products", new
        {
            id = Slug("p"), name = "P", features = new object[] { new { feature_id = feature, included = Max, reset = "month", rollover = new { max = Max } } },
        });
        Assert.Equal(HttpStatusCode.Created, atEdge.Status);
        // 10^15 - 1 was accepted before and became an allowance of 0; now everything past 9e12 is refused.
        foreach (var (included, max, field) in new[] { (OnePast, 1m, "features[0].included"), (999_999_999_999_999m, 1m, "features[0].included"), (1m, OnePast, "features[0].rollover.max") })
        {
            (await host.Client().Post("/v1/products", new
            {
                id = Slug("p"), name = "P", features = new object[] { new { feature_id = feature, included, reset = "month", rollover = new { max } } },
            })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", field);
        }

        // At the edge the allowance is exact, not 0.
        var (c, f) = await Subscribed(Max);
        AssertBalance(await Balance(c, f), Max, 0, Max, 0);
    }

    [Fact]
    public async Task Included_times_quantity_past_the_bound_is_refused_and_nothing_is_attached()
    {
        var feature = await Feature();
        var product = Slug("p");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "P", features = new object[] { new { feature_id = feature, included = Max / 2, reset = "month" } },
        })).Status);
        var customer = await Customer();
        (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product, quantity = 3 }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow", "quantity");
        Assert.Null(await Balance(customer, feature));
        var ok = await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product, quantity = 2 });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        AssertBalance(await Balance(customer, feature), Max, 0, Max, 0);
    }

    [Fact]
    public async Task Credit_grants_sum_to_the_bound_and_one_more_unit_is_quantity_overflow_with_nothing_stored()
    {
        var feature = await Feature();
        var customer = await Customer();
        (await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = OnePast, category = "paid" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
        var first = await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = Max - 1, category = "paid" });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 1, category = "paid" })).Status);
        // The reported case: the same large grant twice answered 500 from the balance fold.
        (await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = 0.000001m, category = "paid" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow", "amount");
        (await host.Client().Post("/v1/credit_grants", new { customer_id = customer, feature_id = feature, amount = Max, category = "paid" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow", "amount");
        AssertBalance(await Balance(customer, feature), Max, 0, Max, 0);
        Assert.Equal(2, (await host.Client().Get($"/v1/credit_grants?customer_id={customer}")).Body!["data"]!.AsArray().Count);
        var summary = (await host.Client().Get($"/v1/credit_grants/summary?customer_id={customer}")).Body!["data"]!.AsArray().Single()!;
        Assert.Equal((Max, 0m, Max), ((decimal)summary["granted"]!, (decimal)summary["used"]!, (decimal)summary["remaining"]!));
    }

    [Fact]
    public async Task Tracks_add_up_to_the_bound_and_past_it_are_refused_one_at_a_time()
    {
        var (c, f) = await Subscribed(10);
        (await Track(c, f, OnePast)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "value");
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = OnePast }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "required_balance");

        var big = await Track(c, f, Max);
        Assert.Equal(HttpStatusCode.OK, big.Status);
        AssertBalance(big.Body!["balance"], 10, Max, 0, Max - 10);
        var movesBefore = (await host.Client().Get($"/v1/credit_transactions?customer_id={c}&feature_id={f}&limit=100")).Body!["data"]!.ToJsonString();
        // Two such tracks answered 500 (OverflowException in the group-commit batch); now the second is refused alone.
        (await Track(c, f, Max)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        (await Track(c, f, 0.000001m)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 1, send_event = true }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 1, @lock = new { enabled = true } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        AssertBalance(await Balance(c, f), 10, Max, 0, Max - 10);
        // Nothing of the refused operations reached the usage log or the movement log.
        Assert.Equal(movesBefore, (await host.Client().Get($"/v1/credit_transactions?customer_id={c}&feature_id={f}&limit=100")).Body!["data"]!.ToJsonString());

        // The engine keeps deciding: a correction and then a track that fits again.
        AssertBalance((await Track(c, f, -1)).Body!["balance"], 10, Max - 1, 0, Max - 11);
        AssertBalance((await Track(c, f, 1)).Body!["balance"], 10, Max, 0, Max - 10);
    }

    [Fact]
    public async Task In_one_batch_an_operation_past_the_bound_is_decided_as_an_error_and_the_others_commit()
    {
        var (c, f) = await Subscribed(10);
        var tenant = new Kassa.Engine.Common.Tenant(host.Account.AccountId, false);
        var now = host.Clock.GetUtcNow();
        TrackOp Op(long micro) => new(tenant, "req_" + Guid.NewGuid().ToString("N"), now, c, f, "", micro, null, now);
        var max = Kassa.Core.Balances.Micro.MaxAbs;
        // The second would take the overage past a long (it threw OverflowException in the fold before).
        var ops = new[] { Op(max - 4_000_000), Op(max), Op(1_000_000) };
        // One transaction, as the group commit runs it: a throw here would have failed all three.
        await host.Store.WriteAsync(async s =>
        {
            await ApplyBalanceBatch.Execute(s, ops);
            return true;
        });
        Assert.True(ops[0].Decision!.Value.IsOk);
        Assert.Equal("quantity_overflow", ops[1].Decision!.Value.Error!.Code);
        Assert.True(ops[2].Decision!.Value.IsOk);
        AssertBalance(ops[2].Decision!.Value.Value!.Balance, 10, Max - 3, 0, Max - 13);
        AssertBalance(await Balance(c, f), 10, Max - 3, 0, Max - 13);
    }

    private static void AssertBalance(BalanceView? view, decimal granted, decimal used, decimal remaining, decimal overage)
    {
        Assert.NotNull(view);
        Assert.Equal((granted, used, remaining, 0m, overage), (view!.Granted, view.Used, view.Remaining, view.Held, view.Overage));
    }

    [Fact]
    public async Task An_adjust_then_a_track_or_grant_past_the_bound_is_quantity_overflow()
    {
        var (c, f) = await Subscribed(10);
        (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, used = OnePast, reason = "edge" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "used");
        var adjusted = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, used = Max, reason = "edge" });
        Assert.Equal(HttpStatusCode.OK, adjusted.Status);
        AssertBalance(adjusted.Body, 10, Max, 0, Max - 10);
        (await Track(c, f, 1)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");

        var granted = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, granted = Max, reason = "edge" });
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal(Max, (decimal)granted.Body!["granted"]!);
        (await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = f, amount = 1, category = "promotional" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow", "amount");
        Assert.Equal(Max, (decimal)(await Balance(c, f))!["granted"]!);
    }

    [Fact]
    public async Task A_period_reset_that_would_pass_the_bound_is_refused_whole_and_one_that_fits_goes_through()
    {
        var (fits, f1) = await Subscribed(10);
        var (over, f2) = await Subscribed(10, rollover: new { });
        foreach (var (c, f) in new[] { (fits, f1), (over, f2) })
            Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = f, amount = Max - 10, category = "paid" })).Status);
        host.Clock.Advance(TimeSpan.FromDays(32));
        // The new allowance replaces the expired one: the total stays at the bound.
        AssertBalance((await Track(fits, f1, 1)).Body!["balance"], Max, 1, Max - 1, 0);
        // Rolling the unused 10 over as well would pass it: refused, and the period is left as it was.
        (await Track(over, f2, 1)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        (await host.Client().Get($"/v1/customers/{over}/balances")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        Assert.DoesNotContain((await host.Client().Get($"/v1/credit_transactions?customer_id={over}&feature_id={f2}")).Body!["data"]!.AsArray(),
            t => (string?)t!["type"] is "reset" or "expire");
    }

    [Fact]
    public async Task Meter_events_that_would_take_a_linked_balance_past_the_bound_are_refused_and_not_stored()
    {
        var (c, f) = await Subscribed(10);
        var eventName = Slug("ev");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/meters", new
        {
            id = Slug("m"), name = "M", event_name = eventName, aggregation = "sum", value_property = "n", feature_id = f,
        })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, used = Max - 1, reason = "edge" })).Status);
        object Batch(string id, decimal n) => new { events = new[] { new { id, event_name = eventName, customer_id = c, properties = new { n } } } };
        Assert.Equal(HttpStatusCode.Accepted, (await host.Client().Post("/v1/meter_events/batch", Batch("e1", 1))).Status);
        AssertBalance(await Balance(c, f), 10, Max, 0, Max - 10);
        // One more unit: refused whole (it was stored while its balance stayed put, or failed with 500).
        (await host.Client().Post("/v1/meter_events/batch", Batch("e2", 0.000001m))).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        AssertBalance(await Balance(c, f), 10, Max, 0, Max - 10);
        // Not stored: after a correction the same event id is accepted as new.
        Assert.Equal(HttpStatusCode.OK, (await Track(c, f, -1)).Status);
        var retried = await host.Client().Post("/v1/meter_events/batch", Batch("e2", 0.000001m));
        Assert.Equal(HttpStatusCode.Accepted, retried.Status);
        Assert.Equal(1L, (long)retried.Body!["accepted"]!);
        AssertBalance(await Balance(c, f), 10, Max - 0.999999m, 0, Max - 10.999999m);
    }

    [Fact]
    public async Task Used_is_the_whole_period_usage_with_overage_the_part_past_the_grants()
    {
        var (c, f) = await Subscribed(10);
        var t = await Track(c, f, 60);
        AssertBalance(t.Body!["balance"], 10, 60, 0, 50);
        AssertBalance(await Balance(c, f), 10, 60, 0, 50);
        // The exhausted event carries the same balance.
        var exhausted = (await host.Client().Get($"/v1/events?object_id={c}&type=entitlement.exhausted")).Body!["data"]!.AsArray().Single()!;
        AssertBalance(exhausted["data"]!["object"], 10, 60, 0, 50);
        // Adjust takes used in the same sense: 30 of usage is 10 from the allowance and 20 overage.
        var adjusted = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, used = 30, reason = "support" });
        AssertBalance(adjusted.Body, 10, 30, 0, 20);
        adjusted = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = f, used = 4, reason = "support" });
        AssertBalance(adjusted.Body, 10, 4, 6, 0);
        // A lock holds without using: remaining = granted − used − held.
        var locked = await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 5, @lock = new { enabled = true } });
        AssertBalance(locked.Body!["balance"], 10, 4, 1, 0, held: 5);
    }

    [Fact]
    public async Task Units_that_become_available_pay_the_period_overage_first_so_remaining_is_granted_minus_used_minus_held()
    {
        var (c, f) = await Subscribed(10);
        AssertBalance((await Track(c, f, 60)).Body!["balance"], 10, 60, 0, 50);
        // A grant of 20 pays 20 of the 50 overage: granted 30, used 60, remaining max(0, 30 − 60) = 0, overage 30.
        var grant = async (decimal amount) => await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = f, amount, category = "paid" });
        Assert.Equal(HttpStatusCode.Created, (await grant(20)).Status);
        AssertBalance(await Balance(c, f), 30, 60, 0, 30);
        // A grant of 50 pays the last 30 and leaves 20: remaining = 80 − 60 = 20.
        Assert.Equal(HttpStatusCode.Created, (await grant(50)).Status);
        AssertBalance(await Balance(c, f), 80, 60, 20, 0);
        // Hold 10, then use 15: 10 from what is left, 5 past it.
        var locked = await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 10, @lock = new { enabled = true } });
        AssertBalance(locked.Body!["balance"], 80, 60, 10, 0, held: 10);
        AssertBalance((await Track(c, f, 15)).Body!["balance"], 80, 75, 0, 5, held: 10);
        // Releasing the hold gives back 10 units, which pay the 5 of overage first: remaining = 80 − 75 − 0 = 5.
        var released = await host.Client().Post($"/v1/locks/{(string)locked.Body!["lock_id"]!}/finalize", new { action = "release" });
        AssertBalance(released.Body!["balance"], 80, 75, 5, 0);
        AssertBalance(await Balance(c, f), 80, 75, 5, 0);
        // The log shows the settlement: the overage given back (adjust) and the grant consumed instead.
        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={c}&feature_id={f}&limit=100")).Body!["data"]!.AsArray();
        Assert.Equal(3, log.Count(t => (string?)t!["type"] == "adjust" && t["bucket"] is null));
        Assert.Equal(20m + 30m + 5m, log.Where(t => (string?)t!["type"] == "adjust" && t["bucket"] is null).Sum(t => (decimal)t!["amount"]!));
    }

    [Fact]
    public async Task A_boolean_feature_is_a_flag_and_never_a_balance_with_a_policy()
    {
        var flag = await Feature("boolean");
        var product = Slug("p");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new { id = product, name = "P", features = new object[] { new { feature_id = flag } } })).Status);
        var c = await Customer();
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = product })).Status);
        var check = await host.Client().Post("/v1/check", new { customer_id = c, feature_id = flag, send_event = true });
        Assert.True((bool)check.Body!["allowed"]!);
        Assert.Null(check.Body!["balance"]);
        Assert.Null((await Track(c, flag, 1)).Body!["balance"]);
        Assert.Empty((await host.Client().Get($"/v1/customers/{c}/balances")).Body!["data"]!.AsArray());
        Assert.True((bool)(await host.Client().Get($"/v1/customers/{c}")).Body!["flags"]![flag]!);
        (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = flag, used = 1, reason = "x" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "feature_id");
    }

    [Fact]
    public async Task Track_with_an_idempotency_key_header_replays_and_refuses_another_body_with_422()
    {
        var (c, f) = await Subscribed(100, "blocked");
        var header = "hdr-" + Guid.NewGuid().ToString("N");
        var first = await Track(c, f, 5, headerKey: header);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        var replay = await Track(c, f, 5, headerKey: header);
        Assert.Equal(HttpStatusCode.OK, replay.Status);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Body!.ToJsonString(), replay.Body!.ToJsonString());
        // Another body under the same header key: 422, as on every other endpoint (it answered 200 with the first result).
        (await Track(c, f, 7, headerKey: header)).AssertError((HttpStatusCode)422, "idempotency_error", "idempotency_key_reused");
        AssertBalance(await Balance(c, f), 100, 5, 95, 0);

        // The header is not the body's usage key: a body key equal to it is a new key, recorded once per customer.
        AssertBalance((await Track(c, f, 5, key: header)).Body!["balance"], 100, 10, 90, 0);
        var again = await Track(c, f, 5, key: header);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.False(again.Response.Headers.Contains("Idempotent-Replayed"));
        AssertBalance(again.Body!["balance"], 100, 10, 90, 0);
        AssertBalance(await Balance(c, f), 100, 10, 90, 0);

        // A header key used on another route with the same body is another request: 422.
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, value = 5 }, header)).AssertError((HttpStatusCode)422, "idempotency_error", "idempotency_key_reused");
    }

    [Fact]
    public async Task Check_and_finalize_with_an_idempotency_key_header_replay_the_first_answer()
    {
        var (c, f) = await Subscribed(100, "blocked");
        var deductKey = "chk-" + Guid.NewGuid().ToString("N");
        var body = new { customer_id = c, feature_id = f, required_balance = 10, send_event = true };
        var first = await host.Client().Post("/v1/check", body, deductKey);
        AssertBalance(first.Body!["balance"], 100, 10, 90, 0);
        var replay = await host.Client().Post("/v1/check", body, deductKey);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Body!.ToJsonString(), replay.Body!.ToJsonString());
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 11, send_event = true }, deductKey))
            .AssertError((HttpStatusCode)422, "idempotency_error", "idempotency_key_reused");
        AssertBalance(await Balance(c, f), 100, 10, 90, 0);

        var locked = await host.Client().Post("/v1/check", new { customer_id = c, feature_id = f, required_balance = 20, @lock = new { enabled = true } });
        var lockId = (string)locked.Body!["lock_id"]!;
        var finalizeKey = "fin-" + Guid.NewGuid().ToString("N");
        var confirmed = await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" }, finalizeKey);
        Assert.Equal(HttpStatusCode.OK, confirmed.Status);
        Assert.Equal("confirmed", (string?)confirmed.Body!["lock"]!["status"]);
        var again = await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" }, finalizeKey);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal("true", again.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(confirmed.Body!.ToJsonString(), again.Body!.ToJsonString());
        // Without the key, finalizing twice is the conflict spec §5.3 describes.
        (await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "release" }, finalizeKey))
            .AssertError((HttpStatusCode)422, "idempotency_error", "idempotency_key_reused");
        AssertBalance(await Balance(c, f), 100, 30, 70, 0);

        // A refusal is stored and replayed too (4xx), like every other endpoint.
        var badKey = "bad-" + Guid.NewGuid().ToString("N");
        (await host.Client().Post("/v1/track", new { customer_id = c, feature_id = f, value = OnePast }, badKey))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "value");
        var badReplay = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = f, value = OnePast }, badKey);
        Assert.Equal(HttpStatusCode.BadRequest, badReplay.Status);
        Assert.Equal("true", badReplay.Response.Headers.GetValues("Idempotent-Replayed").Single());
    }

    /// <summary>Inserts <paramref name="count"/> live entities of a feature straight into storage (creating them one by one over HTTP is slow).</summary>
    private Task InsertEntities(string customer, string feature, int count) =>
        host.Store.WriteAsync(async s =>
        {
            var session = (Kassa.Storage.ISqlAccess)s;
            return await session.Connection.ExecuteAsync("""
                WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < @count)
                INSERT INTO entities (account_id, livemode, customer_id, id, feature_id, name, created_at, deleted_at)
                SELECT @a, @live, @c, 'e' || CAST(g AS TEXT), @f, NULL, @t + g, NULL FROM n
                """, new { count, a = host.Account.AccountId, live = false, c = customer, f = feature, t = 1_700_000_000_000_000L }, session.Transaction);
        });

    [Fact]
    public async Task Entities_page_with_a_cursor_past_one_full_page()
    {
        var seats = await Feature();
        var c = await Customer();
        await InsertEntities(c, seats, 101);
        var first = await host.Client().Get($"/v1/customers/{c}/entities?limit=100");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(100, first.Body!["data"]!.AsArray().Count);
        Assert.True((bool)first.Body!["has_more"]!);
        Assert.Equal("e1", (string?)first.Body!["data"]![0]!["id"]);
        var cursor = (string)first.Body!["next_cursor"]!;
        var second = await host.Client().Get($"/v1/customers/{c}/entities?limit=100&starting_after={Uri.EscapeDataString(cursor)}");
        Assert.Equal(["e101"], second.Body!["data"]!.AsArray().Select(e => (string)e!["id"]!).ToArray());
        Assert.False((bool)second.Body!["has_more"]!);
        Assert.Null(second.Body!["next_cursor"]);
        (await host.Client().Get($"/v1/customers/{c}/entities?limit=101")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "limit");
        (await host.Client().Get($"/v1/customers/{c}/entities?starting_after=nonsense")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "starting_after");
    }

    [Fact]
    public async Task Attaching_a_per_entity_feature_to_more_entities_than_the_bound_is_refused_not_cut_short()
    {
        var seats = await Feature();
        var messages = await Feature();
        var product = Slug("p");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "P",
            features = new object[] { new { feature_id = messages, included = 5, reset = "month", per_entity = seats } },
        })).Status);
        var c = await Customer();
        await InsertEntities(c, seats, Kassa.Engine.Subscriptions.AttachProduct.EntitiesMax + 1);
        (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = product }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "product_id");
        Assert.Empty((await host.Client().Get($"/v1/customers/{c}/balances?entity_id=e1")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task The_grant_summary_counts_every_live_grant_past_a_thousand()
    {
        var feature = await Feature();
        var c = await Customer();
        var expires = host.Clock.GetUtcNow().AddDays(1);
        for (var i = 0; i < 1_001; i++)
        {
            var g = await host.Client().Post("/v1/credit_grants", new
            {
                customer_id = c, feature_id = feature, amount = 1, category = "promotional",
                expires_at = i < 3 ? expires : (DateTimeOffset?)null,
            });
            Assert.Equal(HttpStatusCode.Created, g.Status);
        }
        AssertBalance((await host.Client().Post("/v1/track", new { customer_id = c, feature_id = feature, value = 2 })).Body!["balance"], 1_001, 2, 999, 0);
        var summary = (await host.Client().Get($"/v1/credit_grants/summary?customer_id={c}")).Body!["data"]!.AsArray().Single()!;
        Assert.Equal((1_001m, 2m, 999m), ((decimal)summary["granted"]!, (decimal)summary["used"]!, (decimal)summary["remaining"]!));
        // The two units used came from the grants expiring first (earliest expiry burns first): one of the three is left.
        Assert.Equal(1m, (decimal)summary["expiring_next"]!["amount"]!);
    }
}

public sealed class BalanceLimitTestsSqlite(SqliteHost host) : BalanceLimitTests(host), IClassFixture<SqliteHost>;

public sealed class BalanceLimitTestsPostgres(PostgresHost host) : BalanceLimitTests(host), IClassFixture<PostgresHost>;
