using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §5: check, track, locks, grants, resets. Exact balances on both engines.</summary>
public abstract class EntitlementTests(KassaHost host)
{
    private static string Slug(string p) => $"{p}_{Guid.NewGuid():N}"[..(p.Length + 11)];

    /// <summary>A fresh catalog and customer: api (100/month, given overage), sso, credits (50, never), gpt (5 credits each).</summary>
    private async Task<(string Customer, string Api, string Sso, string Credits, string Gpt)> Setup(string overage = "blocked", object? rollover = null, decimal included = 100)
    {
        var (api, sso, credits, gpt) = (Slug("api"), Slug("sso"), Slug("cred"), Slug("gpt"));
        await host.Client().Post("/v1/features", new { id = api, name = "API", type = "metered" });
        await host.Client().Post("/v1/features", new { id = sso, name = "SSO", type = "boolean" });
        await host.Client().Post("/v1/features", new { id = gpt, name = "GPT", type = "metered" });
        await host.Client().Post("/v1/features", new { id = credits, name = "Credits", type = "credit_system", credit_schema = new[] { new { feature_id = gpt, credit_cost = 5 } } });
        var product = Slug("free");
        var created = await host.Client().Post("/v1/products", new
        {
            id = product, name = "Free",
            features = new object[]
            {
                new { feature_id = api, included, reset = "month", overage, rollover },
                new { feature_id = sso },
                new { feature_id = credits, included = 50, reset = "never" },
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var customer = Wire.NewId();
        await host.Client().Put($"/v1/customers/{customer}", new { name = "E" });
        var sub = await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(sub.Status == HttpStatusCode.OK, sub.Body?.ToJsonString());
        Assert.Equal("active", (string?)sub.Body!["status"]);
        return (customer, api, sso, credits, gpt);
    }

    private Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Check(string customer, string feature, decimal required = 1, bool send = false, object? lockOptions = null, string? key = null) =>
        host.Client().Post("/v1/check", new { customer_id = customer, feature_id = feature, required_balance = required, send_event = send, @lock = lockOptions, idempotency_key = key });

    private static void AssertBalance(JsonNode? balance, decimal granted, decimal used, decimal remaining, decimal held = 0, decimal overage = 0)
    {
        Assert.NotNull(balance);
        Assert.Equal((granted, used, remaining, held, overage),
            ((decimal)balance!["granted"]!, (decimal)balance["used"]!, (decimal)balance["remaining"]!, (decimal)balance["held"]!, (decimal)balance["overage"]!));
    }

    [Fact]
    public async Task A_deleted_customer_with_balances_is_refused_by_check_and_track_and_nothing_is_drawn()
    {
        // The batch reads whether each customer exists with its balance rows (one statement on SQLite, ADR 0019): a
        // deleted customer keeps its rows, and must be refused as if it never existed, beside a live one in the batch.
        var (gone, api, _, _, _) = await Setup();
        var (live, liveApi, _, _, _) = await Setup();
        AssertBalance((await Check(gone, api, 3, send: true)).Body!["balance"], 100, 3, 97);
        var deleted = await host.Client().Delete($"/v1/customers/{gone}");
        Assert.True(deleted.Status == HttpStatusCode.OK, deleted.Body?.ToJsonString());
        var answers = await Task.WhenAll(Check(gone, api, 1, send: true), Check(live, liveApi, 2, send: true), Check(gone, api));
        Assert.Equal((HttpStatusCode.OK, false, "customer_not_found"), (answers[0].Status, (bool)answers[0].Body!["allowed"]!, (string?)answers[0].Body!["code"]));
        AssertBalance(answers[1].Body!["balance"], 100, 2, 98);
        Assert.Equal((HttpStatusCode.OK, false, "customer_not_found"), (answers[2].Status, (bool)answers[2].Body!["allowed"]!, (string?)answers[2].Body!["code"]));
        (await host.Client().Post("/v1/track", new { customer_id = gone, feature_id = api, value = 5 }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
        (await host.Client().Post("/v1/credit_grants", new { customer_id = gone, feature_id = api, amount = 10, category = "promotional" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
    }

    [Fact]
    public async Task Check_answers_for_metered_boolean_and_unknown_things_without_errors()
    {
        var (c, api, sso, _, _) = await Setup();
        var ok = await Check(c, api);
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.True((bool)ok.Body!["allowed"]!);
        Assert.Null(ok.Body!["code"]);
        AssertBalance(ok.Body!["balance"], 100, 0, 100);
        // The allowance resets one anniversary month after the subscription began (now).
        var nextReset = DateTimeOffset.Parse((string)ok.Body!["balance"]!["next_reset_at"]!);
        Assert.InRange(nextReset - host.Clock.GetUtcNow(), TimeSpan.FromDays(27), TimeSpan.FromDays(31) + TimeSpan.FromMinutes(1));
        Assert.Equal("blocked", (string?)ok.Body!["balance"]!["overage_policy"]);
        Assert.True((bool)(await Check(c, sso)).Body!["allowed"]!);
        Assert.False((bool)(await Check(c, api, 101)).Body!["allowed"]!);
        Assert.Equal("insufficient_balance", (string?)(await Check(c, api, 101)).Body!["code"]);
        Assert.Equal("customer_not_found", (string?)(await Check("nobody_" + Guid.NewGuid().ToString("N")[..8], api)).Body!["code"]);
        Assert.Equal("feature_not_found", (string?)(await Check(c, "no_such_feature")).Body!["code"]);
        var other = Slug("oth");
        await host.Client().Post("/v1/features", new { id = other, name = "Other", type = "metered" });
        var none = await Check(c, other);
        Assert.False((bool)none.Body!["allowed"]!);
        Assert.Equal("no_access", (string?)none.Body!["code"]);
        (await host.Client().Post("/v1/check", new { feature_id = api })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "customer_id");
        (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = api, required_balance = 0.0000001m }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "required_balance");
        var customer = await host.Client().Get($"/v1/customers/{c}");
        AssertBalance(customer.Body!["balances"]![api], 100, 0, 100);
        Assert.True((bool)customer.Body!["flags"]![sso]!);
    }

    [Fact]
    public async Task Send_event_deducts_atomically_and_blocked_balances_stop_at_zero()
    {
        var (c, api, _, _, _) = await Setup();
        var first = await Check(c, api, 30, send: true);
        Assert.True((bool)first.Body!["allowed"]!);
        AssertBalance(first.Body!["balance"], 100, 30, 70);
        AssertBalance((await Check(c, api, 70, send: true)).Body!["balance"], 100, 100, 0);
        var denied = await Check(c, api, 1, send: true);
        Assert.False((bool)denied.Body!["allowed"]!);
        Assert.Equal("insufficient_balance", (string?)denied.Body!["code"]);
        AssertBalance(denied.Body!["balance"], 100, 100, 0);
        var events = (await host.Client().Get($"/v1/events?object_id={c}&type=entitlement.exhausted")).Body!["data"]!.AsArray();
        Assert.Single(events);
    }

    [Fact]
    public async Task Billed_overage_is_allowed_past_zero_and_counted()
    {
        var (c, api, _, _, _) = await Setup(overage: "billed");
        var r = await Check(c, api, 130, send: true);
        Assert.True((bool)r.Body!["allowed"]!);
        AssertBalance(r.Body!["balance"], 100, 130, 0, overage: 30);
    }

    /// <summary>
    /// A grant writes its balance's header only when a header column moves: one that pays off overage changes the
    /// stored overage (and the row's version), one that only adds a bucket leaves the row as it was. The grants are
    /// listed for the customer and for the whole tenant, newest first, either way.
    /// </summary>
    [Fact]
    public async Task A_grant_rewrites_the_balance_header_only_when_it_pays_off_overage()
    {
        var (c, api, _, _, _) = await Setup(overage: "billed");
        AssertBalance((await Check(c, api, 130, send: true)).Body!["balance"], 100, 130, 0, overage: 30);
        async Task<(long Overage, long Version, long UpdatedAt)> Header() => await host.Store.ReadAsync(s =>
            Dapper.SqlMapper.QuerySingleAsync<(long, long, long)>(((Kassa.Storage.ISqlAccess)s).Connection,
                "SELECT overage, version, updated_at FROM feature_balances WHERE account_id = @a AND livemode = @l AND customer_id = @c AND feature_id = @f AND entity_id = ''",
                new { a = host.Account.AccountId, l = false, c, f = api }));
        async Task<string> Grant(decimal amount)
        {
            var g = await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = api, amount, category = "paid" });
            Assert.True(g.Status == HttpStatusCode.Created, g.Body?.ToJsonString());
            return (string)g.Body!["id"]!;
        }
        var before = await Header();
        Assert.Equal(30_000_000, before.Overage);

        // 40 units: 30 pay the overage (its used units now count against the grant), 10 remain.
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        var paying = await Grant(40);
        var paid = await Header();
        Assert.Equal((0L, before.Version + 1), (paid.Overage, paid.Version));
        Assert.True(paid.UpdatedAt > before.UpdatedAt);
        AssertBalance((await Check(c, api, 1)).Body!["balance"], 140, 130, 10);

        host.Clock.Advance(TimeSpan.FromSeconds(1));
        var adding = await Grant(5);
        Assert.Equal(paid, await Header());
        AssertBalance((await Check(c, api, 1)).Body!["balance"], 145, 130, 15);

        var mine = (await host.Client().Get($"/v1/credit_grants?customer_id={c}")).Body!["data"]!.AsArray().Select(g => (string)g!["id"]!).ToList();
        Assert.Equal([adding, paying], mine);
        var tenant = (await host.Client().Get("/v1/credit_grants?limit=2")).Body!["data"]!.AsArray().Select(g => (string)g!["id"]!).ToList();
        Assert.Equal([adding, paying], tenant);
    }

    [Fact]
    public async Task Track_never_refuses_goes_into_overage_and_corrections_undo_overage_first()
    {
        var (c, api, _, _, _) = await Setup();
        var t = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 120 });
        Assert.Equal(HttpStatusCode.OK, t.Status);
        Assert.Matches("^mev_[0-9A-Z]{26}$", (string)t.Body!["id"]!);
        Assert.Equal(120m, (decimal)t.Body!["value"]!);
        AssertBalance(t.Body!["balance"], 100, 120, 0, overage: 20);
        var fix = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = -25 });
        AssertBalance(fix.Body!["balance"], 100, 95, 5);
        var tooMuch = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = -500 });
        AssertBalance(tooMuch.Body!["balance"], 100, 0, 100);
        var fraction = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 0.25m });
        AssertBalance(fraction.Body!["balance"], 100, 0.25m, 99.75m);
        (await host.Client().Post("/v1/track", new { customer_id = "ghost_x", feature_id = api })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "customer_id");
        (await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, timestamp = DateTimeOffset.UtcNow.AddDays(-40) }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "timestamp");
    }

    [Fact]
    public async Task Track_and_send_event_with_one_idempotency_key_take_effect_once()
    {
        var (c, api, _, _, _) = await Setup();
        var key = "usage-" + Guid.NewGuid().ToString("N");
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 7, idempotency_key = key })));
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(results.Select(r => (string)r.Body!["id"]!).Distinct());
        AssertBalance((await Check(c, api)).Body!["balance"], 100, 7, 93);
        // The header works the same way.
        var headerKey = "hdr-" + Guid.NewGuid().ToString("N");
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 3 }, headerKey);
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 3 }, headerKey);
        var checkKey = "chk-" + Guid.NewGuid().ToString("N");
        var a = await Check(c, api, 5, send: true, key: checkKey);
        var b = await Check(c, api, 5, send: true, key: checkKey);
        Assert.Equal(a.Body!.ToJsonString(), b.Body!.ToJsonString());
        AssertBalance((await Check(c, api)).Body!["balance"], 100, 15, 85);
    }

    [Fact]
    public async Task A_track_key_is_remembered_for_30_days_and_then_counts_again()
    {
        var (c, api, _, _, _) = await Setup(overage: "billed");
        var key = "monthly-" + Guid.NewGuid().ToString("N");
        var first = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 4, idempotency_key = key });
        host.Clock.Advance(TimeSpan.FromDays(29));
        var replay = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 4, idempotency_key = key });
        Assert.Equal((string)first.Body!["id"]!, (string)replay.Body!["id"]!);
        host.Clock.Advance(TimeSpan.FromDays(2));
        var again = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 4, idempotency_key = key });
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.NotEqual((string)first.Body!["id"]!, (string)again.Body!["id"]!);
        // A new period began on day 30: the first 4 belong to the old period, the new 4 to this one.
        AssertBalance(again.Body!["balance"], 100, 4, 96);
    }

    [Fact]
    public async Task Locks_hold_then_confirm_or_release_exactly_and_finalizing_twice_is_409()
    {
        var (c, api, _, _, _) = await Setup();
        var held = await Check(c, api, 10, lockOptions: new { enabled = true });
        Assert.True((bool)held.Body!["allowed"]!);
        var lockId = (string)held.Body!["lock_id"]!;
        Assert.Matches("^lock_[0-9A-Z]{26}$", lockId);
        AssertBalance(held.Body!["balance"], 100, 0, 90, held: 10);

        var confirmed = await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm", override_value = 4 });
        Assert.Equal(HttpStatusCode.OK, confirmed.Status);
        Assert.Equal("confirmed", (string?)confirmed.Body!["lock"]!["status"]);
        Assert.Equal(10m, (decimal)confirmed.Body!["lock"]!["held"]!);
        Assert.Equal(4m, (decimal)confirmed.Body!["lock"]!["consumed"]!);
        AssertBalance(confirmed.Body!["balance"], 100, 4, 96);
        (await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        var second = (string)(await Check(c, api, 20, lockOptions: new { enabled = true })).Body!["lock_id"]!;
        var released = await host.Client().Post($"/v1/locks/{second}/finalize", new { action = "release" });
        Assert.Equal("released", (string?)released.Body!["lock"]!["status"]);
        AssertBalance(released.Body!["balance"], 100, 4, 96);

        var third = (string)(await Check(c, api, 5, lockOptions: new { enabled = true })).Body!["lock_id"]!;
        var over = await host.Client().Post($"/v1/locks/{third}/finalize", new { action = "confirm", override_value = 8 });
        AssertBalance(over.Body!["balance"], 100, 12, 88);
        (await host.Client().Post("/v1/locks/lock_nope/finalize", new { action = "release" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client().Post($"/v1/locks/{third}/finalize", new { action = "cancel" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "action");
    }

    [Fact]
    public async Task An_expired_lock_releases_itself()
    {
        var (c, api, _, _, _) = await Setup();
        var expiresAt = host.Clock.GetUtcNow().AddMinutes(2);
        var held = await Check(c, api, 40, lockOptions: new { enabled = true, expires_at = expiresAt });
        var lockId = (string)held.Body!["lock_id"]!;
        AssertBalance((await Check(c, api)).Body!["balance"], 100, 0, 60, held: 40);
        host.Clock.Advance(TimeSpan.FromMinutes(3));
        AssertBalance((await Check(c, api)).Body!["balance"], 100, 0, 100);
        (await host.Client().Post($"/v1/locks/{lockId}/finalize", new { action = "confirm" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        AssertBalance((await Check(c, api)).Body!["balance"], 100, 0, 100);
        (await Check(c, api, 1, lockOptions: new { enabled = true, expires_at = host.Clock.GetUtcNow().AddHours(25) }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "lock.expires_at");
    }

    [Fact]
    public async Task Read_only_checks_decided_together_each_get_their_own_customers_answer()
    {
        // On PostgreSQL checks without send_event wait in ReadOnlyCheckQueue and are decided together from one read; many
        // at once over customers with different balances, features and a deleted customer must each get exactly the
        // answer a check alone gets (SQLite decides each alone: the same answers).
        var setups = new List<(string Customer, string Api, string Sso, string Credits, string Gpt)>();
        for (var i = 0; i < 3; i++) setups.Add(await Setup());
        for (var i = 0; i < 3; i++) await Check(setups[i].Customer, setups[i].Api, 10 * (i + 1), send: true);
        var gone = setups[2].Customer;
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/customers/{gone}")).Status);
        var queue = host.Services.GetService(typeof(Kassa.Engine.Balances.ReadOnlyCheckQueue)) as Kassa.Engine.Balances.ReadOnlyCheckQueue;
        var decidedBefore = queue!.Checks;

        var asks = Enumerable.Range(0, 48).Select(i => (Setup: setups[i % 3], Kind: i / 3 % 4, Required: (decimal)(i % 7 + 85))).ToList();
        var answers = await Task.WhenAll(asks.Select(a => a.Kind switch
        {
            0 => Check(a.Setup.Customer, a.Setup.Api, a.Required),
            1 => Check(a.Setup.Customer, a.Setup.Sso),
            2 => Check(a.Setup.Customer, a.Setup.Gpt, 10),
            _ => Check(a.Setup.Customer, a.Setup.Credits, 51),
        }));

        for (var i = 0; i < asks.Count; i++)
        {
            var (setup, kind, required) = asks[i];
            var (status, body, _) = answers[i];
            Assert.Equal(HttpStatusCode.OK, status);
            if (setup.Customer == gone)
            {
                Assert.Equal((false, "customer_not_found"), ((bool)body!["allowed"]!, (string?)body["code"]));
                continue;
            }
            var used = setup == setups[0] ? 10m : 20m;
            switch (kind)
            {
                case 0:
                    Assert.Equal(required <= 100 - used, (bool)body!["allowed"]!);
                    AssertBalance(body["balance"], 100, used, 100 - used);
                    break;
                case 1:
                    Assert.True((bool)body!["allowed"]!);
                    break;
                case 2:
                    Assert.True((bool)body!["allowed"]!);
                    AssertBalance(body["balance"], 50, 0, 50);
                    break;
                default:
                    Assert.False((bool)body!["allowed"]!);
                    AssertBalance(body["balance"], 50, 0, 50);
                    break;
            }
        }
        Assert.Equal(host.Engine == "postgres" ? decidedBefore + asks.Count : 0, queue.Checks);
        // Nothing was drawn by them.
        AssertBalance((await Check(setups[0].Customer, setups[0].Api)).Body!["balance"], 100, 10, 90);
    }

    [Fact]
    public async Task A_credit_system_draws_cost_times_value()
    {
        var (c, _, _, credits, gpt) = await Setup();
        // Without send_event (decided in a read session, where SQLite reads the feature and its credit system raw): the
        // same rule, to the credit (10 × 5 of 50 allowed, 11 × 5 not), and nothing drawn.
        var read = await Check(c, gpt, 10);
        Assert.True((bool)read.Body!["allowed"]!);
        Assert.Equal(credits, (string?)read.Body!["balance"]!["feature_id"]);
        AssertBalance(read.Body!["balance"], 50, 0, 50);
        Assert.False((bool)(await Check(c, gpt, 11)).Body!["allowed"]!);
        var r = await Check(c, gpt, 2, send: true);
        Assert.True((bool)r.Body!["allowed"]!);
        Assert.Equal(credits, (string?)r.Body!["balance"]!["feature_id"]);
        AssertBalance(r.Body!["balance"], 50, 10, 40);
        var denied = await Check(c, gpt, 9, send: true);
        Assert.False((bool)denied.Body!["allowed"]!);
        var t = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = gpt, value = 3 });
        AssertBalance(t.Body!["balance"], 50, 25, 25);
    }

    [Fact]
    public async Task Grants_burn_after_the_allowance_and_are_voided_listed_and_summarised()
    {
        var (c, api, _, _, _) = await Setup();
        var expires = host.Clock.GetUtcNow().AddDays(10);
        var paid = await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = api, amount = 50, category = "paid" });
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Matches("^grant_[0-9A-Z]{26}$", (string)paid.Body!["id"]!);
        var promo = await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = api, amount = 20, category = "promotional", expires_at = expires });
        AssertBalance((await Check(c, api)).Body!["balance"], 170, 0, 170);
        // 100 from the allowance, then the promotional grant (expires first), then 5 of the paid one.
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 125 });
        var grants = (await host.Client().Get($"/v1/credit_grants?customer_id={c}")).Body!["data"]!.AsArray().ToDictionary(g => (string)g!["id"]!);
        Assert.Equal(20m, (decimal)grants[(string)promo.Body!["id"]!]!["used"]!);
        Assert.Equal(5m, (decimal)grants[(string)paid.Body!["id"]!]!["used"]!);

        var voided = await host.Client().Post($"/v1/credit_grants/{(string)paid.Body!["id"]!}/void");
        Assert.True((bool)voided.Body!["voided"]!);
        Assert.Equal(5m, (decimal)voided.Body!["amount"]!);
        // A balance is its live buckets: the voided grant (5 used of it) leaves the totals; the log keeps it.
        AssertBalance((await Check(c, api)).Body!["balance"], 120, 120, 0);
        (await host.Client().Post($"/v1/credit_grants/{(string)paid.Body!["id"]!}/void")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");

        var summary = await host.Client().Get($"/v1/credit_grants/summary?customer_id={c}");
        var entry = summary.Body!["data"]!.AsArray().Single()!;
        Assert.Equal(20m, (decimal)entry["granted"]!);
        Assert.Equal(0m, (decimal)entry["remaining"]!);

        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={c}&feature_id={api}&limit=100")).Body!["data"]!.AsArray();
        Assert.Contains(log, t => (string?)t!["type"] == "void" && (decimal)t["amount"]! == 45m && (decimal)t["balance_after"]! == 0m);
        Assert.Contains(log, t => (string?)t!["type"] == "consume" && (decimal)t["amount"]! == 100m);
        Assert.Contains(log, t => (string?)t!["type"] == "grant" && (decimal)t["amount"]! == 50m && (string?)t["source"]!["type"] == "credit_grant");
        (await host.Client().Post("/v1/credit_grants", new { customer_id = c, feature_id = api, amount = -5, category = "paid" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "amount");
    }

    [Fact]
    public async Task A_new_period_resets_usage_and_rolls_over_up_to_the_cap()
    {
        var (c, api, _, _, _) = await Setup(rollover: new { max = 30 });
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 60 });
        host.Clock.Advance(TimeSpan.FromDays(32));
        AssertBalance((await Check(c, api)).Body!["balance"], 130, 0, 130);
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 10 });
        // Rollover burns before the new allowance? Both priority 0; the rollover expires with the period too, so the older one first.
        AssertBalance((await Check(c, api)).Body!["balance"], 130, 10, 120);
    }

    [Fact]
    public async Task Sixty_four_clients_racing_on_one_balance_never_overspend()
    {
        var (c, api, _, _, _) = await Setup(included: 1000);
        var other = await host.AnotherNodeClientAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(async worker =>
        {
            var client = worker % 2 == 0 ? host.Client() : other;
            var allowed = 0;
            for (var i = 0; i < 18; i++)
            {
                var r = await client.Post("/v1/check", new { customer_id = c, feature_id = api, required_balance = 1, send_event = true });
                Assert.Equal(HttpStatusCode.OK, r.Status);
                if ((bool)r.Body!["allowed"]!) allowed++;
            }
            return allowed;
        }));
        Assert.Equal(1000, results.Sum());
        AssertBalance((await Check(c, api)).Body!["balance"], 1000, 1000, 0);
    }

    [Fact]
    public async Task An_admin_adjustment_sets_used_and_granted_and_is_logged_as_adjust()
    {
        var (c, api, sso, _, _) = await Setup();
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 10 });
        var used = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = api, used = 30, reason = "support: import fix" });
        Assert.Equal(HttpStatusCode.OK, used.Status);
        AssertBalance(used.Body, 100, 30, 70);
        var raised = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = api, granted = 150, reason = "goodwill" });
        AssertBalance(raised.Body, 150, 30, 120);
        var lowered = await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = api, granted = 40, reason = "clawback" });
        AssertBalance(lowered.Body, 40, 30, 10);
        AssertBalance((await Check(c, api)).Body!["balance"], 40, 30, 10);
        (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = api, granted = 20, reason = "too far" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "granted");
        (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = api, used = 1 }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "reason");
        (await host.Client().Post($"/v1/customers/{c}/balances/adjust", new { feature_id = sso, used = 1, reason = "flag" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "feature_id");

        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={c}&feature_id={api}&limit=100")).Body!["data"]!.AsArray();
        var adjusts = log.Where(t => (string?)t!["type"] == "adjust").ToList();
        // used 10 → 30 (20); granted +50 (a new bucket); granted −110 taken per bucket, latest-burning first: 50 then 60.
        Assert.Equal([20m, 50m, 50m, 60m], adjusts.Select(t => (decimal)t!["amount"]!).Order().ToArray());
        Assert.All(adjusts, t => Assert.Equal("adjustment", (string?)t!["source"]!["type"]));
        Assert.Equal(10m, (decimal)adjusts.First()!["balance_after"]!);
        var audit = (await host.Client().Get($"/v1/audit_events?object_id={c}")).Body!["data"]!.AsArray();
        Assert.Contains(audit, e => (string?)e!["action"] == "balance.adjusted" && e["changed_fields"]!.AsArray().Any(f => (string?)f == "reason: clawback"));
    }

    [Fact]
    public async Task Entities_use_seats_carry_per_entity_allowances_and_free_their_seat_when_deleted()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (seats, messages, api, product, c) = ($"seats_{suffix}", $"msg_{suffix}", $"api_{suffix}", $"team_{suffix}", Wire.NewId());
        foreach (var f in new[] { seats, messages, api }) await host.Client().Post("/v1/features", new { id = f, name = f, type = "metered" });
        var created = await host.Client().Post("/v1/products", new
        {
            id = product, name = "Team",
            features = new object[]
            {
                new { feature_id = seats, included = 2, reset = "never", overage = "blocked" },
                new { feature_id = messages, included = 10, reset = "month", per_entity = seats },
                new { feature_id = api, included = 100, reset = "month" },
            },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        await host.Client().Put($"/v1/customers/{c}", new { name = "Team" });
        await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = product });
        // Per-entity allowances live on entities, not on the customer.
        Assert.Equal("no_access", (string?)(await Check(c, messages)).Body!["code"]);

        var alice = await host.Client().Post($"/v1/customers/{c}/entities", new { id = "alice", feature_id = seats, name = "Alice" });
        Assert.Equal(HttpStatusCode.Created, alice.Status);
        Assert.Equal("entity", (string?)alice.Body!["object"]);
        await host.Client().Post($"/v1/customers/{c}/entities", new { id = "bob", feature_id = seats });
        (await host.Client().Post($"/v1/customers/{c}/entities", new { id = "carol", feature_id = seats }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "limit_reached", "feature_id");
        (await host.Client().Post($"/v1/customers/{c}/entities", new { id = "alice", feature_id = seats }))
            .AssertError(HttpStatusCode.Conflict, "conflict", "already_exists", "id");
        AssertBalance((await Check(c, seats)).Body!["balance"], 2, 2, 0);

        var used = await host.Client().Post("/v1/check", new { customer_id = c, feature_id = messages, entity_id = "alice", required_balance = 3, send_event = true });
        Assert.True((bool)used.Body!["allowed"]!);
        AssertBalance(used.Body!["balance"], 10, 3, 7);
        AssertBalance((await host.Client().Post("/v1/check", new { customer_id = c, feature_id = messages, entity_id = "bob" })).Body!["balance"], 10, 0, 10);
        // A feature that is not per entity is the customer's, whichever entity asks.
        AssertBalance((await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, entity_id = "bob", value = 5 })).Body!["balance"], 100, 5, 95);
        var aliceBalances = (await host.Client().Get($"/v1/customers/{c}/balances?entity_id=alice")).Body!["data"]!.AsArray();
        Assert.Equal(messages, (string?)aliceBalances.Single()!["feature_id"]);

        Assert.Equal(["alice", "bob"], (await host.Client().Get($"/v1/customers/{c}/entities")).Body!["data"]!.AsArray().Select(e => (string)e!["id"]!).ToArray());
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/customers/{c}/entities/alice")).Status);
        AssertBalance((await Check(c, seats)).Body!["balance"], 2, 1, 1);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post($"/v1/customers/{c}/entities", new { id = "carol", feature_id = seats })).Status);
        (await host.Client().Delete($"/v1/customers/{c}/entities/nobody")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Fact]
    public async Task Auto_top_up_settings_are_validated_stored_and_replaced()
    {
        var (c, _, sso, credits, _) = await Setup();
        var pack = Slug("pack");
        await host.Client().Post("/v1/products", new
        {
            id = pack, name = "Credit pack",
            prices = new[] { new { type = "one_time", amount = 1000, currency = "usd" } },
            features = new[] { new { feature_id = credits, included = 500 } },
        });
        var set = await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = credits, threshold = 20, quantity = 2, product_id = pack });
        Assert.Equal(HttpStatusCode.OK, set.Status);
        Assert.Equal("auto_top_up", (string?)set.Body!["object"]);
        Assert.Equal((20m, 2L, pack, true), ((decimal)set.Body!["threshold"]!, (long)set.Body!["quantity"]!, (string?)set.Body!["product_id"], (bool)set.Body!["enabled"]!));
        var replaced = await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = credits, threshold = 5.5m, quantity = 1, product_id = pack, enabled = false });
        Assert.Equal((5.5m, 1L, false), ((decimal)replaced.Body!["threshold"]!, (long)replaced.Body!["quantity"]!, (bool)replaced.Body!["enabled"]!));
        Assert.Equal((string?)set.Body!["created_at"], (string?)replaced.Body!["created_at"]);

        var noOneTime = Slug("sub");
        await host.Client().Post("/v1/products", new { id = noOneTime, name = "Monthly", prices = new[] { new { type = "recurring", amount = 100, currency = "usd", interval = "month" } } });
        (await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = credits, threshold = 1, quantity = 1, product_id = noOneTime }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "product_id");
        (await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = sso, threshold = 1, quantity = 1, product_id = pack }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "feature_id");
        (await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = credits, threshold = -1, quantity = 0, product_id = pack }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "threshold");
        (await host.Client().Post($"/v1/customers/{c}/auto_top_up", new { feature_id = credits, threshold = 1, quantity = 1, product_id = "nope" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "product_id");
    }

    [Fact]
    public async Task Crossing_the_features_low_balance_threshold_emits_balance_low_once()
    {
        var (c, api, _, _, _) = await Setup();
        var patched = await host.Client().Patch($"/v1/features/{api}", new { low_balance_threshold = 20 });
        Assert.Equal(20m, (decimal)patched.Body!["low_balance_threshold"]!);
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 70 });
        Assert.Empty((await host.Client().Get($"/v1/events?type=balance.low&object_id={c}")).Body!["data"]!.AsArray());
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 15 });
        await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 5 });
        var low = (await host.Client().Get($"/v1/events?type=balance.low&object_id={c}")).Body!["data"]!.AsArray();
        var single = Assert.Single(low);
        Assert.Equal(15m, (decimal)single!["data"]!["object"]!["remaining"]!);
        (await host.Client().Patch($"/v1/features/{api}", new { low_balance_threshold = -1 }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "low_balance_threshold");
    }

    /// <summary>A pay-as-you-go product: 100 included per month, overage billed at 2 cents a unit (in arrears, so it attaches without payment).</summary>
    private async Task<(string Customer, string Api)> SetupPayAsYouGo()
    {
        var api = Slug("api");
        await host.Client().Post("/v1/features", new { id = api, name = "API", type = "metered" });
        var product = Slug("payg");
        var created = await host.Client().Post("/v1/products", new
        {
            id = product, name = "Pay as you go",
            prices = new[] { new { type = "usage", feature_id = api, currency = "usd", billing = "in_arrears", model = "per_unit", unit_amount_decimal = "2" } },
            features = new[] { new { feature_id = api, included = 100, reset = "month", overage = "billed" } },
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var customer = Wire.NewId();
        await host.Client().Put($"/v1/customers/{customer}", new { name = "P" });
        var sub = await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product });
        Assert.True(sub.Status == HttpStatusCode.OK, sub.Body?.ToJsonString());
        Assert.Equal("active", (string?)sub.Body!["status"]);
        return (customer, api);
    }

    [Fact]
    public async Task A_spend_cap_denies_checks_once_priced_overage_would_pass_it()
    {
        var (c, api) = await SetupPayAsYouGo();
        var put = await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { max_overage_amount = 100 });
        Assert.Equal(HttpStatusCode.OK, put.Status);
        Assert.Equal(("spend_cap", c, api, 100L), ((string?)put.Body!["object"], (string?)put.Body!["customer_id"], (string?)put.Body!["feature_id"], (long)put.Body!["max_overage_amount"]!));

        AssertBalance((await Check(c, api, 100, send: true)).Body!["balance"], 100, 100, 0);
        // 50 units past zero at 2 cents = 100 cents: reaching the cap exactly is allowed.
        var atCap = await Check(c, api, 50, send: true);
        Assert.True((bool)atCap.Body!["allowed"]!);
        AssertBalance(atCap.Body!["balance"], 100, 150, 0, overage: 50);
        foreach (var denied in new[] { await Check(c, api, 1), await Check(c, api, 1, send: true), await Check(c, api, 1, lockOptions: new { enabled = true }) })
        {
            Assert.False((bool)denied.Body!["allowed"]!);
            Assert.Equal("spend_cap_reached", (string?)denied.Body!["code"]);
            Assert.Null(denied.Body!["lock_id"]);
            AssertBalance(denied.Body!["balance"], 100, 150, 0, overage: 50);
        }
        // Track records usage that already happened, cap or not.
        var tracked = await host.Client().Post("/v1/track", new { customer_id = c, feature_id = api, value = 10 });
        AssertBalance(tracked.Body!["balance"], 100, 160, 0, overage: 60);

        // Raising the cap lets exactly the priced amount through: 75 units = 150 cents.
        await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { max_overage_amount = 150 });
        Assert.True((bool)(await Check(c, api, 15, send: true)).Body!["allowed"]!);
        Assert.Equal("spend_cap_reached", (string?)(await Check(c, api, 1)).Body!["code"]);

        var deleted = await host.Client().Delete($"/v1/customers/{c}/spend_caps/{api}");
        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        Assert.True((bool)deleted.Body!["deleted"]!);
        var free = await Check(c, api, 25, send: true);
        Assert.True((bool)free.Body!["allowed"]!);
        AssertBalance(free.Body!["balance"], 100, 200, 0, overage: 100);
        (await host.Client().Delete($"/v1/customers/{c}/spend_caps/{api}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Fact]
    public async Task Locks_held_past_zero_count_toward_the_spend_cap_and_a_zero_cap_allows_only_the_allowance()
    {
        var (c, api) = await SetupPayAsYouGo();
        await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { max_overage_amount = 20 });
        var first = await Check(c, api, 105, lockOptions: new { enabled = true });
        Assert.True((bool)first.Body!["allowed"]!);
        // 5 units held past zero (10 cents) + 5 more = 20 cents: at the cap, allowed; one more is not.
        Assert.True((bool)(await Check(c, api, 5, lockOptions: new { enabled = true })).Body!["allowed"]!);
        Assert.Equal("spend_cap_reached", (string?)(await Check(c, api, 1, send: true)).Body!["code"]);
        // Releasing the first lock frees its 100 units and its 5 of overage.
        var released = await host.Client().Post($"/v1/locks/{(string)first.Body!["lock_id"]!}/finalize", new { action = "release" });
        Assert.Equal(HttpStatusCode.OK, released.Status);
        Assert.True((bool)(await Check(c, api, 100, send: true)).Body!["allowed"]!);

        var (c2, api2) = await SetupPayAsYouGo();
        await host.Client().Put($"/v1/customers/{c2}/spend_caps/{api2}", new { max_overage_amount = 0 });
        Assert.True((bool)(await Check(c2, api2, 100, send: true)).Body!["allowed"]!);
        // A sliver of overage that prices to 0 cents (0.2 units × 2 = 0.4 → 0) does not pass a zero cap; 0.25 units (0.5 → 1 cent) does.
        Assert.True((bool)(await Check(c2, api2, 0.2m)).Body!["allowed"]!);
        Assert.Equal("spend_cap_reached", (string?)(await Check(c2, api2, 0.25m)).Body!["code"]);
    }

    [Fact]
    public async Task Spend_caps_are_validated()
    {
        var (c, api) = await SetupPayAsYouGo();
        (await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { max_overage_amount = -1 }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "max_overage_amount");
        (await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "max_overage_amount");
        (await host.Client().Put($"/v1/customers/{c}/spend_caps/{api}", new { max_overage_amount = 1.5m }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        (await host.Client().Put($"/v1/customers/nobody_{Guid.NewGuid():N}/spend_caps/{api}", new { max_overage_amount = 5 }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client().Put($"/v1/customers/{c}/spend_caps/no_such_feature", new { max_overage_amount = 5 }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var flag = Slug("flag");
        await host.Client().Post("/v1/features", new { id = flag, name = "Flag", type = "boolean" });
        (await host.Client().Put($"/v1/customers/{c}/spend_caps/{flag}", new { max_overage_amount = 5 }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "feature_id");
    }

    [Fact]
    public async Task Subscribing_a_paid_product_without_a_card_requires_checkout_and_archived_or_attached_products_are_refused()
    {
        var (c, _, _, _, _) = await Setup();
        var paid = Slug("paid");
        await host.Client().Post("/v1/products", new { id = paid, name = "Paid", prices = new[] { new { type = "recurring", amount = 100, currency = "usd", interval = "month" } } });
        var pending = await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = paid });
        Assert.Equal("requires_checkout", (string?)pending.Body!["status"]);
        Assert.Equal("incomplete", (string?)pending.Body["subscription"]!["status"]);
        Assert.Equal(100, (long)pending.Body["invoice"]!["amount_due"]!);
        (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = paid })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        var free = Slug("free2");
        await host.Client().Post("/v1/products", new { id = free, name = "Free 2" });
        await host.Client().Post($"/v1/products/{free}/archive");
        (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = free })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = "nope" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "product_id");
    }

    [Fact]
    public async Task Auto_enable_products_are_attached_to_new_customers()
    {
        var other = await host.NewAccountAsync("Auto");
        var client = host.Client(other.TestSecretKey);
        await client.Post("/v1/features", new { id = "messages", name = "Messages", type = "metered" });
        await client.Post("/v1/products", new { id = "free", name = "Free", auto_enable = true, features = new[] { new { feature_id = "messages", included = 25, reset = "month" } } });
        await client.Put("/v1/customers/new_user", new { name = "New" });
        var r = await client.Post("/v1/check", new { customer_id = "new_user", feature_id = "messages" });
        Assert.True((bool)r.Body!["allowed"]!);
        AssertBalance(r.Body!["balance"], 25, 0, 25);
    }
}

public sealed class EntitlementTestsSqlite(SqliteHost host) : EntitlementTests(host), IClassFixture<SqliteHost>;

public sealed class EntitlementTestsPostgres(PostgresHost host) : EntitlementTests(host), IClassFixture<PostgresHost>;
