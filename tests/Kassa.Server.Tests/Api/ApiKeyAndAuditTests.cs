using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §11: API keys and the audit log. Runs on both engines.</summary>
public abstract class ApiKeyAndAuditTests(KassaHost host)
{
    [Fact]
    public async Task A_created_secret_key_works_is_listed_masked_and_stops_working_when_revoked()
    {
        var created = await host.Client().Post("/v1/api_keys", new { name = "CI deploys", type = "secret" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var raw = (string)created.Body!["raw_key"]!;
        var keyId = (string)created.Body!["id"]!;
        Assert.Matches("^sk_test_[0-9A-Za-z]{32}$", raw);
        Assert.Matches("^key_[0-9A-Z]{26}$", keyId);
        Assert.Equal($"{raw[..12]}…{raw[^4..]}", (string?)created.Body!["prefix"]);

        Assert.Equal(HttpStatusCode.OK, (await host.Client(raw).Get("/v1/customers")).Status);
        var list = await host.Client().Get("/v1/api_keys?limit=100");
        Assert.DoesNotContain(raw, list.Body!.ToJsonString());
        var listed = list.Body!["data"]!.AsArray().Single(k => (string?)k!["id"] == keyId)!;
        Assert.Equal("CI deploys", (string?)listed["name"]);
        Assert.Null(listed["revoked_at"]);

        var revoked = await host.Client().Post($"/v1/api_keys/{keyId}/revoke");
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        Assert.NotNull((string?)revoked.Body!["revoked_at"]);
        (await host.Client(raw).Get("/v1/customers")).AssertError(HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        (await host.Client().Post($"/v1/api_keys/{keyId}/revoke")).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
    }

    [Fact]
    public async Task A_publishable_key_can_be_created_and_is_refused_on_secret_routes()
    {
        var created = await host.Client().Post("/v1/api_keys", new { name = "web", type = "publishable" });
        var raw = (string)created.Body!["raw_key"]!;
        Assert.StartsWith("pk_test_", raw);
        (await host.Client(raw).Get("/v1/customers")).AssertError(HttpStatusCode.Forbidden, "permission_error", "key_not_allowed");
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"type\":\"admin\"}", "validation_failed", "type")]
    [InlineData("{\"name\":\"\",\"type\":\"secret\"}", "validation_failed", "name")]
    [InlineData("{\"name\":\"x\"}", "parameter_missing", "type")]
    public async Task Bad_key_requests_are_400(string body, string code, string param)
    {
        var r = await host.Client().Send(HttpMethod.Post, "/v1/api_keys", rawBody: body);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", code, param);
    }

    [Fact]
    public async Task Another_accounts_key_cannot_be_revoked()
    {
        var other = await host.NewAccountAsync();
        var theirs = await host.Client(other.TestSecretKey).Post("/v1/api_keys", new { name = "theirs", type = "secret" });
        (await host.Client().Post($"/v1/api_keys/{(string)theirs.Body!["id"]!}/revoke"))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.Equal(HttpStatusCode.OK, (await host.Client((string)theirs.Body!["raw_key"]!).Get("/v1/customers")).Status);
    }

    [Fact]
    public async Task Every_mutation_is_audited_with_actor_action_object_request_and_changes()
    {
        var id = Wire.NewId();
        var created = await host.Client().Post("/v1/customers", new { id, name = "Ada" });
        var updated = await host.Client().Patch($"/v1/customers/{id}", new { email = "ada@example.com" });
        var deleted = await host.Client().Delete($"/v1/customers/{id}");

        var audit = await host.Client().Get($"/v1/audit_events?object_id={id}");
        var events = audit.Body!["data"]!.AsArray();
        Assert.Equal(3, events.Count);
        Assert.Equal(["customer.deleted", "customer.updated", "customer.created"], events.Select(e => (string)e!["action"]!).ToArray());
        Assert.Equal(
            new[] { deleted, updated, created }.Select(r => r.Response.Headers.GetValues("Request-Id").Single()).ToArray(),
            events.Select(e => (string)e!["request_id"]!).ToArray());
        var update = events[1]!;
        Assert.Equal("audit_event", (string?)update["object"]);
        Assert.Equal("api_key", (string?)update["actor"]!["type"]);
        Assert.StartsWith("key_", (string?)update["actor"]!["id"]);
        Assert.Equal("customer", (string?)update["object_type"]);
        Assert.Equal(["email"], update["changed_fields"]!.AsArray().Select(f => (string)f!).ToArray());

        var actor = (string)update["actor"]!["id"]!;
        var byActor = await host.Client().Get($"/v1/audit_events?actor={actor}&object_id={id}&limit=1");
        Assert.Single(byActor.Body!["data"]!.AsArray());
        Assert.True((bool)byActor.Body!["has_more"]!);
        var nobody = await host.Client().Get($"/v1/audit_events?actor=key_nobody&object_id={id}");
        Assert.Empty(nobody.Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Audit_time_filters_are_half_open_and_validated()
    {
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id });
        var future = host.Clock.GetUtcNow().AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ");
        var past = host.Clock.GetUtcNow().AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");
        Assert.Single((await host.Client().Get($"/v1/audit_events?object_id={id}&from={past}&to={future}")).Body!["data"]!.AsArray());
        Assert.Empty((await host.Client().Get($"/v1/audit_events?object_id={id}&from={future}")).Body!["data"]!.AsArray());
        Assert.Empty((await host.Client().Get($"/v1/audit_events?object_id={id}&to={past}")).Body!["data"]!.AsArray());
        (await host.Client().Get("/v1/audit_events?from=yesterday")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");
        (await host.Client().Get($"/v1/audit_events?from={future}&to={past}")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "from");
    }
}

public sealed class ApiKeyAndAuditTestsSqlite(SqliteHost host) : ApiKeyAndAuditTests(host), IClassFixture<SqliteHost>;

public sealed class ApiKeyAndAuditTestsPostgres(PostgresHost host) : ApiKeyAndAuditTests(host), IClassFixture<PostgresHost>;
