using System.Net;
using Kassa.Engine.Common;
using Kassa.Engine.Customers;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §10: the event outbox and webhook endpoint management. Runs on both engines.</summary>
public abstract class EventTests(KassaHost host)
{
    [Fact]
    public async Task Customer_changes_write_events_with_the_object_and_previous_attributes()
    {
        var id = Wire.NewId();
        var created = await host.Client().Put($"/v1/customers/{id}", new { name = "Ada", email = "ada@example.com" });
        await host.Client().Patch($"/v1/customers/{id}", new { name = "Ada L." });
        await host.Client().Delete($"/v1/customers/{id}");

        var list = await host.Client().Get($"/v1/events?object_id={id}");
        var events = list.Body!["data"]!.AsArray();
        Assert.Equal(["customer.deleted", "customer.updated", "customer.created"], events.Select(e => (string)e!["type"]!).ToArray());
        var first = events[2]!;
        Assert.Equal("event", (string?)first["object"]);
        Assert.Matches("^evt_[0-9A-Z]{26}$", (string)first["id"]!);
        Assert.False((bool)first["livemode"]!);
        Assert.Equal(created.Response.Headers.GetValues("Request-Id").Single(), (string?)first["request_id"]);
        Assert.Equal(created.Body!.ToJsonString(), first["data"]!["object"]!.ToJsonString());
        Assert.Null(first["data"]!["previous_attributes"]);
        var update = events[1]!;
        Assert.Equal("Ada L.", (string?)update["data"]!["object"]!["name"]);
        Assert.Equal("{\"name\":\"Ada\"}", update["data"]!["previous_attributes"]!.ToJsonString());

        var one = await host.Client().Get($"/v1/events/{(string)update["id"]!}");
        Assert.Equal(update.ToJsonString(), one.Body!.ToJsonString());
        var byType = await host.Client().Get("/v1/events?type=customer.deleted&limit=100");
        Assert.Contains(byType.Body!["data"]!.AsArray(), e => (string?)e!["data"]!["object"]!["id"] == id);
        Assert.All(byType.Body!["data"]!.AsArray(), e => Assert.Equal("customer.deleted", (string?)e!["type"]));
        (await host.Client().Get("/v1/events?type=customer.exploded")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "type");
        var other = host.Client((await host.NewAccountAsync()).TestSecretKey);
        (await other.Get($"/v1/events/{(string)update["id"]!}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Fact]
    public async Task An_unchanged_put_writes_no_event()
    {
        var id = Wire.NewId();
        await host.Client().Put($"/v1/customers/{id}", new { name = "Same" });
        await host.Client().Put($"/v1/customers/{id}", new { name = "Same" });
        Assert.Single((await host.Client().Get($"/v1/events?object_id={id}")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task A_rolled_back_change_leaves_no_event_and_no_change()
    {
        var id = Wire.NewId();
        var op = new OperationContext(new Tenant(host.Account.AccountId, false), Actor.System, "req_test", host.Clock.GetUtcNow());
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Store.WriteAsync<bool>(async s =>
        {
            var created = await CreateCustomer.Execute(s, op, new CreateCustomer.Request(id, null, "Ghost", null, null));
            Assert.True(created.IsOk);
            throw new InvalidOperationException("the process failed after the write, before the commit");
        }));
        (await host.Client().Get($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.Empty((await host.Client().Get($"/v1/events?object_id={id}")).Body!["data"]!.AsArray());
        Assert.Empty((await host.Client().Get($"/v1/audit_events?object_id={id}")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Catalog_changes_write_events()
    {
        var f = "ev_" + Guid.NewGuid().ToString("N")[..10];
        await host.Client().Post("/v1/features", new { id = f, name = "F", type = "metered" });
        await host.Client().Patch($"/v1/features/{f}", new { name = "F2" });
        await host.Client().Post($"/v1/features/{f}/archive");
        var types = (await host.Client().Get($"/v1/events?object_id={f}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray();
        Assert.Equal(["feature.archived", "feature.updated", "feature.created"], types);
        var p = "evp_" + Guid.NewGuid().ToString("N")[..10];
        await host.Client().Post("/v1/products", new { id = p, name = "P" });
        await host.Client().Post($"/v1/products/{p}", new { name = "P2" });
        await host.Client().Post($"/v1/products/{p}/archive");
        types = (await host.Client().Get($"/v1/events?object_id={p}")).Body!["data"]!.AsArray().Select(e => (string)e!["type"]!).ToArray();
        Assert.Equal(["product.archived", "product.updated", "product.created"], types);
    }

    [Fact]
    public async Task Webhook_endpoints_show_the_secret_once_and_are_managed()
    {
        var created = await host.Client().Post("/v1/webhook_endpoints", new { url = "http://127.0.0.1:9/hook", events = new[] { "customer.created", "invoice.paid" }, description = "local" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = (string)created.Body!["id"]!;
        Assert.Matches("^we_[0-9A-Z]{26}$", id);
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", (string)created.Body!["secret"]!);
        Assert.Equal("enabled", (string?)created.Body!["status"]);
        var got = await host.Client().Get($"/v1/webhook_endpoints/{id}");
        Assert.Null(got.Body!["secret"]);
        Assert.DoesNotContain((string)created.Body!["secret"]!, (await host.Client().Get("/v1/webhook_endpoints?limit=100")).Body!.ToJsonString());

        var patched = await host.Client().Patch($"/v1/webhook_endpoints/{id}", new { events = new[] { "*" }, disabled = true });
        Assert.Equal("[\"*\"]", patched.Body!["events"]!.ToJsonString());
        Assert.Equal("disabled", (string?)patched.Body!["status"]);
        Assert.Equal("disabled_by_user", (string?)patched.Body!["disabled_reason"]);

        var rotated = await host.Client().Post($"/v1/webhook_endpoints/{id}/rotate_secret");
        Assert.NotEqual((string)created.Body!["secret"]!, (string)rotated.Body!["secret"]!);

        Assert.Equal(HttpStatusCode.OK, (await host.Client().Delete($"/v1/webhook_endpoints/{id}")).Status);
        (await host.Client().Get($"/v1/webhook_endpoints/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Theory]
    [InlineData("{\"url\":\"ftp://example.com/x\",\"events\":[\"*\"]}", "validation_failed", "url")]
    [InlineData("{\"url\":\"http://10.0.0.5/hook\",\"events\":[\"*\"]}", "validation_failed", "url")]
    [InlineData("{\"url\":\"http://169.254.169.254/latest\",\"events\":[\"*\"]}", "validation_failed", "url")]
    [InlineData("{\"url\":\"http://user:pw@example.com/x\",\"events\":[\"*\"]}", "validation_failed", "url")]
    [InlineData("{\"url\":\"https://example.com/x\",\"events\":[\"customer.exploded\"]}", "validation_failed", "events[0]")]
    [InlineData("{\"url\":\"https://example.com/x\",\"events\":[]}", "validation_failed", "events")]
    [InlineData("{\"url\":\"https://example.com/x\"}", "parameter_missing", "events")]
    [InlineData("{\"events\":[\"*\"]}", "parameter_missing", "url")]
    public async Task Bad_webhook_endpoints_are_refused(string body, string code, string param)
    {
        var r = await host.Client().Send(HttpMethod.Post, "/v1/webhook_endpoints", rawBody: body);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", code, param);
    }

    [Fact]
    public async Task Live_mode_endpoints_must_be_public_https()
    {
        var live = host.Client(host.Account.LiveSecretKey);
        (await live.Post("/v1/webhook_endpoints", new { url = "http://example.com/hook", events = new[] { "*" } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "url");
        (await live.Post("/v1/webhook_endpoints", new { url = "https://127.0.0.1/hook", events = new[] { "*" } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "url");
        (await live.Post("/v1/webhook_endpoints", new { url = "https://localhost/hook", events = new[] { "*" } }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "url");
        Assert.Equal(HttpStatusCode.Created, (await live.Post("/v1/webhook_endpoints", new { url = "https://hooks.example.com/kassa", events = new[] { "*" } })).Status);
    }
}

public sealed class EventTestsSqlite(SqliteHost host) : EventTests(host), IClassFixture<SqliteHost>;

public sealed class EventTestsPostgres(PostgresHost host) : EventTests(host), IClassFixture<PostgresHost>;
