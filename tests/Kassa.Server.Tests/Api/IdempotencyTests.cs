using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §1.3: idempotency keys. Runs on both engines.</summary>
public abstract class IdempotencyTests(KassaHost host)
{
    private static string Key() => "idem-" + Guid.NewGuid().ToString("N");

    private async Task<int> AuditCount(string objectId) =>
        (await host.Client().Get($"/v1/audit_events?object_id={objectId}&limit=100")).Body!["data"]!.AsArray().Count;

    [Fact]
    public async Task Retry_replays_the_first_response_exactly_with_the_replay_header()
    {
        var key = Key();
        var id = Wire.NewId();
        var first = await host.Client().Post("/v1/customers", new { id, name = "Once" }, key);
        var second = await host.Client().Post("/v1/customers", new { id, name = "Once" }, key);
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, second.Status);
        Assert.Equal(first.Body!.ToJsonString(), second.Body!.ToJsonString());
        Assert.False(first.Response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await AuditCount(id));
    }

    [Fact]
    public async Task Same_key_with_another_body_path_or_method_is_422()
    {
        var key = Key();
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id }, key);
        (await host.Client().Post("/v1/customers", new { id, name = "different" }, key))
            .AssertError(HttpStatusCode.UnprocessableEntity, "idempotency_error", "idempotency_key_reused");
        (await host.Client().Put($"/v1/customers/{id}", new { id }, key))
            .AssertError(HttpStatusCode.UnprocessableEntity, "idempotency_error", "idempotency_key_reused");
        (await host.Client().Delete($"/v1/customers/{id}", key))
            .AssertError(HttpStatusCode.UnprocessableEntity, "idempotency_error", "idempotency_key_reused");
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Get($"/v1/customers/{id}")).Status);
    }

    [Fact]
    public async Task A_business_error_is_stored_and_replayed_too()
    {
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id });
        var key = Key();
        var first = await host.Client().Post("/v1/customers", new { id }, key);
        first.AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");
        var again = await host.Client().Post("/v1/customers", new { id }, key);
        again.AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");
        Assert.Equal("true", again.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((string?)first.Body!["error"]!["request_id"], (string?)again.Body!["error"]!["request_id"]);
        Assert.Equal(first.Response.Headers.GetValues("Request-Id").Single(), again.Response.Headers.GetValues("Original-Request").Single());
        Assert.NotEqual(first.Response.Headers.GetValues("Request-Id").Single(), again.Response.Headers.GetValues("Request-Id").Single());
    }

    [Fact]
    public async Task Keys_are_scoped_by_account_and_mode()
    {
        var key = Key();
        var idTest = Wire.NewId();
        var idLive = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id = idTest }, key)).Status);
        // The same key in live mode and in another account is a different key: both run.
        Assert.Equal(HttpStatusCode.Created, (await host.Client(host.Account.LiveSecretKey).Post("/v1/customers", new { id = idLive }, key)).Status);
        var other = await host.NewAccountAsync();
        Assert.Equal(HttpStatusCode.Created, (await host.Client(other.TestSecretKey).Post("/v1/customers", new { id = idTest }, key)).Status);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_have_one_effect()
    {
        var key = Key();
        var id = Wire.NewId();
        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => host.Client().Post("/v1/customers", new { id, name = "Race" }, key)));
        // Each answer is the effect (201), its replay (201 with the header) or "still running" (409).
        Assert.All(results, r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.Conflict, r.Status.ToString()));
        var fresh = results.Count(r => r.Status == HttpStatusCode.Created && !r.Response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, fresh);
        foreach (var r in results.Where(r => r.Status == HttpStatusCode.Conflict))
            Assert.Equal("idempotency_key_in_use", (string?)r.Body!["error"]!["code"]);
        Assert.Equal(1, await AuditCount(id));
    }

    [Fact]
    public async Task A_key_held_by_a_running_request_is_409_until_its_lease_ends()
    {
        var key = Key();
        var id = Wire.NewId();
        var body = System.Text.Json.JsonSerializer.Serialize(new { id });
        // Plant the claim a request on another node would hold while still running.
        var fingerprint = Kassa.Engine.Idempotency.ClaimIdempotencyKey.Fingerprint("POST", "/v1/customers", System.Text.Encoding.UTF8.GetBytes(body));
        var tenant = new Kassa.Engine.Common.Tenant(host.Account.AccountId, false);
        var claim = await host.Store.WriteAsync(s => Kassa.Engine.Idempotency.ClaimIdempotencyKey.Execute(s, tenant, key, fingerprint, "req_elsewhere", host.Clock.GetUtcNow()));
        Assert.Equal(Kassa.Engine.Idempotency.ClaimOutcome.Claimed, claim.Outcome);

        (await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: body, idempotencyKey: key))
            .AssertError(HttpStatusCode.Conflict, "conflict", "idempotency_key_in_use");
        (await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: "{\"id\":\"other\"}", idempotencyKey: key))
            .AssertError(HttpStatusCode.UnprocessableEntity, "idempotency_error", "idempotency_key_reused");

        // The holder died: after its 60 s lease a retry takes the key over and runs.
        host.Clock.Advance(TimeSpan.FromSeconds(61));
        var retry = await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: body, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Created, retry.Status);
        Assert.False(retry.Response.Headers.Contains("Idempotent-Replayed"));

        // The old holder finishing late cannot store its response (nor, in its transaction, its effect).
        var late = await host.Store.WriteAsync(s => s.Idempotency.CompleteAsync(tenant, key, claim.ClaimToken!, 201, [], host.Clock.GetUtcNow().AddHours(24)));
        Assert.False(late);
        var replay = await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: body, idempotencyKey: key);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(id, (string?)replay.Body!["id"]);
    }

    [Fact]
    public async Task Two_nodes_on_one_database_racing_one_key_have_one_effect()
    {
        var other = await host.AnotherNodeClientAsync();
        var key = Key();
        var id = Wire.NewId();
        var tasks = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? host.Client() : other).Post("/v1/customers", new { id, name = "Race" }, key));
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.Conflict, r.Status.ToString()));
        Assert.Equal(1, results.Count(r => r.Status == HttpStatusCode.Created && !r.Response.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(1, await AuditCount(id));

        // Without a key, get-or-create from both nodes still creates the customer once.
        var id2 = Wire.NewId();
        var puts = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? host.Client() : other).Put($"/v1/customers/{id2}", new { name = "Race" })));
        Assert.Equal(1, puts.Count(r => r.Status == HttpStatusCode.Created));
        Assert.Equal(19, puts.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(1, await AuditCount(id2));
    }

    [Fact]
    public async Task A_key_of_256_characters_is_refused_and_255_accepted()
    {
        (await host.Client().Post("/v1/customers", new { id = Wire.NewId() }, new string('k', 256)))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "Idempotency-Key");
        var ok = Guid.NewGuid().ToString("N") + new string('k', 255 - 32);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id = Wire.NewId() }, ok)).Status);
    }

    [Fact]
    public async Task After_the_retention_window_the_key_runs_again()
    {
        var key = Key();
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id }, key)).Status);
        host.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        // Not a replay: the request runs again and finds the customer it made a day ago.
        var again = await host.Client().Post("/v1/customers", new { id }, key);
        again.AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");
        Assert.False(again.Response.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Delete_with_a_key_replays_instead_of_answering_404()
    {
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id });
        var key = Key();
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/customers/{id}", key)).Status);
        var retry = await host.Client().Delete($"/v1/customers/{id}", key);
        Assert.Equal(HttpStatusCode.OK, retry.Status);
        Assert.True((bool)retry.Body!["deleted"]!);
    }
}

public sealed class IdempotencyTestsSqlite(SqliteHost host) : IdempotencyTests(host), IClassFixture<SqliteHost>;

public sealed class IdempotencyTestsPostgres(PostgresHost host) : IdempotencyTests(host), IClassFixture<PostgresHost>;
