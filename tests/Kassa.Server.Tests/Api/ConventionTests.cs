using System.Net;
using System.Text;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §1: authentication, errors, body rules, tenancy. Runs on both engines.</summary>
public abstract class ConventionTests(KassaHost host)
{
    [Fact]
    public async Task Missing_key_is_401_missing_api_key()
    {
        var r = await host.Client(key: null).Get("/v1/customers");
        r.AssertError(HttpStatusCode.Unauthorized, "authentication_error", "missing_api_key");
    }

    [Theory]
    [InlineData("Bearer sk_test_doesnotexistdoesnotexist0000")]
    [InlineData("Bearer pk_live_doesnotexistdoesnotexist0000")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer not a key")]
    [InlineData("Bearer sk_test_ünïcødé")]
    [InlineData("Bearer cst_doesnotexistdoesnotexist")]
    public async Task Unknown_or_malformed_key_is_401_invalid_api_key(string authorization)
    {
        var client = host.Client(key: null);
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        var r = await client.Get("/v1/customers");
        r.AssertError(HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task Publishable_key_may_not_call_secret_routes_403()
    {
        var r = await host.Client(host.Account.TestPublishableKey).Get("/v1/customers");
        r.AssertError(HttpStatusCode.Forbidden, "permission_error", "key_not_allowed");
        var w = await host.Client(host.Account.TestPublishableKey).Post("/v1/customers", new { id = Wire.NewId() });
        w.AssertError(HttpStatusCode.Forbidden, "permission_error", "key_not_allowed");
    }

    [Fact]
    public async Task Another_accounts_objects_answer_404_on_every_route()
    {
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Mine" })).Status);
        var other = host.Client((await host.NewAccountAsync()).TestSecretKey);

        (await other.Get($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await other.Patch($"/v1/customers/{id}", new { name = "Theirs" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await other.Delete($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var list = await other.Get("/v1/customers?limit=100");
        Assert.DoesNotContain(list.Body!["data"]!.AsArray(), c => (string?)c!["id"] == id);
        var audit = await other.Get($"/v1/audit_events?object_id={id}");
        Assert.Empty(audit.Body!["data"]!.AsArray());
        // The other account may use the same id for its own customer: ids are scoped by account.
        Assert.Equal(HttpStatusCode.Created, (await other.Put($"/v1/customers/{id}", new { name = "Theirs" })).Status);
        Assert.Equal("Mine", (string?)(await host.Client().Get($"/v1/customers/{id}")).Body!["name"]);
    }

    [Fact]
    public async Task Live_and_test_data_never_cross()
    {
        var id = Wire.NewId();
        await host.Client().Put($"/v1/customers/{id}", new { name = "Test mode" });
        var live = host.Client(host.Account.LiveSecretKey);
        (await live.Get($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var created = await live.Put($"/v1/customers/{id}", new { name = "Live mode" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.True((bool)created.Body!["livemode"]!);
        var test = await host.Client().Get($"/v1/customers/{id}");
        Assert.False((bool)test.Body!["livemode"]!);
        Assert.Equal("Test mode", (string?)test.Body!["name"]);
    }

    [Fact]
    public async Task Unknown_field_is_400_unknown_field_naming_it()
    {
        var r = await host.Client().Post("/v1/customers", new { id = Wire.NewId(), nmae = "typo" });
        var error = r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "nmae");
        Assert.Equal("nmae", (string?)error["details"]![0]!["field"]);
        var nested = await host.Client().Post("/v1/customers", new { id = Wire.NewId(), address = new { city = "Oslo", zip = "0150" } });
        nested.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "address.zip");
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"id\": }")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("\"a string\"")]
    [InlineData("{\"name\":\"a\",\"name\":\"b\"}")]
    public async Task Malformed_json_is_400_malformed_json(string body)
    {
        var r = await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: body);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
    }

    [Theory]
    [InlineData("{\"name\": 5}", "name")]
    [InlineData("{\"email\": true}", "email")]
    [InlineData("{\"metadata\": {\"a\": 1}}", "metadata.a")]
    [InlineData("{\"metadata\": [\"a\"]}", "metadata")]
    [InlineData("{\"address\": \"Main St\"}", "address")]
    public async Task Wrong_type_is_400_validation_failed_naming_the_field(string body, string param)
    {
        var r = await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: body);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", param);
    }

    [Fact]
    public async Task Missing_required_field_is_400_parameter_missing()
    {
        var r = await host.Client().Post("/v1/api_keys", new { type = "secret" });
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "name");
    }

    [Fact]
    public async Task Body_over_one_mebibyte_is_413_payload_too_large()
    {
        var big = "{\"name\":\"" + new string('a', 1 << 20) + "\"}";
        var r = await host.Client().Send(HttpMethod.Post, "/v1/customers", rawBody: big);
        r.AssertError(HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "payload_too_large");
    }

    [Fact]
    public async Task Unknown_route_is_404_and_wrong_method_405_in_the_envelope()
    {
        (await host.Client().Get("/v1/no_such_thing")).AssertError(HttpStatusCode.NotFound, "not_found", "route_not_found");
        (await host.Client().Put("/v1/api_keys", new { })).AssertError(HttpStatusCode.MethodNotAllowed, "invalid_request_error", "method_not_allowed");
    }

    [Fact]
    public async Task A_bug_is_a_logged_500_api_error_without_internals()
    {
        var r = await host.Client().Get("/v1/test_only/boom");
        var error = r.AssertError(HttpStatusCode.InternalServerError, "api_error", "internal_error");
        Assert.DoesNotContain("InvalidOperationException", error.ToJsonString());
        Assert.Contains((string)error["request_id"]!, (string)error["message"]!);
    }

    [Fact]
    public async Task Every_response_has_a_request_id()
    {
        var ok = await host.Client().Get("/v1/customers");
        var other = await host.Client().Get("/v1/customers");
        var a = ok.Response.Headers.GetValues("Request-Id").Single();
        var b = other.Response.Headers.GetValues("Request-Id").Single();
        Assert.StartsWith("req_", a);
        Assert.Equal(30, a.Length);
        Assert.NotEqual(a, b);
        Assert.Equal("application/json; charset=utf-8", ok.Response.Content.Headers.ContentType!.ToString());
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=abc")]
    [InlineData("limit=-1")]
    [InlineData("starting_after=garbage!")]
    [InlineData("starting_after=bm90LWEtY3Vyc29y")]
    public async Task Bad_page_parameters_are_400_validation_failed(string query)
    {
        var r = await host.Client().Get("/v1/customers?" + query);
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", query.Split('=')[0]);
    }
}

public sealed class ConventionTestsSqlite(SqliteHost host) : ConventionTests(host), IClassFixture<SqliteHost>;

public sealed class ConventionTestsPostgres(PostgresHost host) : ConventionTests(host), IClassFixture<PostgresHost>;
