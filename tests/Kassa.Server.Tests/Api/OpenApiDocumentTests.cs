using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Kassa.Engine.Json;
using Kassa.Server.Hosting;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The served OpenAPI document says what the server does (issue 11, item 7). The contract test in
/// scripts/test.sh checks every exchange of this suite against it; these tests pin the faults that
/// were found, so each stays fixed. Runs on both engines.
/// </summary>
public abstract class OpenApiDocumentTests(KassaHost host)
{
    private async Task<JsonNode> DocumentAsync() => JsonNode.Parse(await host.Client(key: null).GetStringAsync("/openapi/v1.json"))!;

    private static JsonNode Schema(JsonNode document, string name) => document["components"]!["schemas"]![name]
        ?? throw new Xunit.Sdk.XunitException($"no schema named {name}");

    private static string? ResponseRef(JsonNode document, string path, string method, string status) =>
        (string?)document["paths"]![path]![method]!["responses"]![status]!["content"]!.AsObject().Single().Value!["schema"]!["$ref"];

    private static string[] Required(JsonNode schema) => schema["required"]?.AsArray().Select(n => (string)n!).Order(StringComparer.Ordinal).ToArray() ?? [];

    private static string[] PropertyNames(JsonNode schema) => schema["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Meter_event_answers_and_subscribe_results_have_schemas_of_their_own()
    {
        var doc = await DocumentAsync();
        Assert.Equal("#/components/schemas/MeterEventBatchResult", ResponseRef(doc, "/v1/meter_events", "post", "202"));
        Assert.Equal("#/components/schemas/MeterEventBatchResult", ResponseRef(doc, "/v1/meter_events/batch", "post", "202"));
        Assert.Equal("#/components/schemas/SubscribeResult", ResponseRef(doc, "/v1/subscribe", "post", "200"));
        Assert.Equal(["accepted", "duplicates", "object", "rejected"], Required(Schema(doc, "MeterEventBatchResult")));
        Assert.Equal(["checkout_url", "invoice", "required_action", "status", "subscription"], Required(Schema(doc, "SubscribeResult")));
        Assert.Null(doc["components"]!["schemas"]!["Response"]);
    }

    [Fact]
    public void Two_types_that_want_one_schema_name_fail_generation_instead_of_merging()
    {
        Assert.Equal("Thing", OpenApiSchemas.SchemaId(KassaJson.Options.GetTypeInfo(typeof(First.Thing))));
        var e = Assert.Throws<InvalidOperationException>(() => OpenApiSchemas.SchemaId(KassaJson.Options.GetTypeInfo(typeof(Second.Thing))));
        Assert.Contains("Thing", e.Message);
        Assert.Equal("FirstResponse", OpenApiSchemas.SchemaId(KassaJson.Options.GetTypeInfo(typeof(First.Response))));
        Assert.Equal("SecondResponse", OpenApiSchemas.SchemaId(KassaJson.Options.GetTypeInfo(typeof(Second.Response))));
    }

    [Fact]
    public async Task A_check_with_only_customer_and_feature_is_answered_200_and_the_document_requires_only_those()
    {
        var doc = await DocumentAsync();
        var check = Schema(doc, "CheckRequest");
        Assert.Equal(["customer_id", "feature_id"], Required(check));
        Assert.Equal("string", (string?)check["properties"]!["customer_id"]!["type"]);
        Assert.Equal("#/components/schemas/CheckRequest", (string?)doc["paths"]!["/v1/check"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]);
        Assert.True((bool)doc["paths"]!["/v1/check"]!["post"]!["requestBody"]!["required"]!);
        Assert.Equal(["customer_id", "product_id"], Required(Schema(doc, "SubscribeRequest")));
        Assert.Empty(Required(Schema(doc, "CreateCustomerRequest")));
        Assert.Empty(Required(Schema(doc, "CustomerPatch")));

        var customer = Wire.NewId();
        var feature = $"flag_{Guid.NewGuid():N}"[..20];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{customer}", new { })).Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "Flag", type = "boolean" })).Status);
        var answer = await host.Client().Post("/v1/check", new { customer_id = customer, feature_id = feature });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.False((bool)answer.Body!["allowed"]!);
    }

    [Fact]
    public async Task Response_fields_are_all_required_and_nullable_only_where_the_server_can_write_null()
    {
        var doc = await DocumentAsync();
        var customer = Schema(doc, "CustomerResource");
        Assert.Equal(PropertyNames(customer), Required(customer));
        Assert.Equal("string", (string?)customer["properties"]!["id"]!["type"]);
        Assert.Equal(["null", "string"], customer["properties"]!["email"]!["type"]!.AsArray().Select(n => (string)n!).Order());
        // The secret is written only in the create answer ([JsonIgnore(WhenWritingNull)]).
        var endpoint = Schema(doc, "WebhookEndpointResource");
        Assert.Equal(PropertyNames(endpoint).Where(p => p != "secret"), Required(endpoint));
    }

    [Fact]
    public async Task Nullable_references_match_null_once_and_included_is_a_number_or_unlimited()
    {
        var doc = await DocumentAsync();
        var included = Schema(doc, "ProductFeature")["properties"]!["included"]!["oneOf"]!.AsArray();
        Assert.Equal("null", (string?)included[0]!["type"]);
        Assert.Equal("#/components/schemas/Included", (string?)included[1]!["$ref"]);
        var kinds = Schema(doc, "Included")["oneOf"]!.AsArray();
        Assert.Equal("number", (string?)kinds[0]!["type"]);
        Assert.Equal("unlimited", (string?)kinds[1]!["enum"]![0]);
        // No oneOf anywhere holds the any-value schema {} (which would match null a second time),
        // and no number claims to be a double (the server writes exact decimals).
        foreach (var node in Walk(doc))
        {
            if (node["oneOf"] is JsonArray oneOf) Assert.DoesNotContain(oneOf, s => s is JsonObject { Count: 0 });
            Assert.NotEqual("double", (string?)(node["format"] as JsonValue));
        }
        var decimalString = Schema(doc, "Price")["properties"]!["unit_amount_decimal"]!;
        Assert.Equal(["null", "string"], decimalString["type"]!.AsArray().Select(n => (string)n!).Order());
        Assert.Equal("^-?[0-9]+(\\.[0-9]+)?$", (string?)decimalString["pattern"]);
    }

    [Fact]
    public async Task Every_json_429_and_503_documents_a_required_Retry_After_in_seconds()
    {
        var doc = await DocumentAsync();
        var answers = doc["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Operation: $"{o.Key} {p.Key}", Responses: o.Value!["responses"]!.AsObject())))
            .SelectMany(o => o.Responses.Where(r => r.Key is "429" or "503").Select(r => (o.Operation, Code: r.Key, Response: r.Value!)))
            .Where(r => r.Response["content"]?.AsObject().Any(c => c.Key.StartsWith("application/json", StringComparison.Ordinal)) == true)
            .ToList();
        Assert.True(answers.Count >= 200, $"{answers.Count} answers");
        foreach (var (operation, code, response) in answers)
        {
            var header = response["headers"]?["Retry-After"];
            Assert.True(header is not null, $"{operation} {code} documents no Retry-After");
            Assert.True((bool?)header!["required"] == true, $"{operation} {code}");
            Assert.Equal("integer", (string?)header["schema"]!["type"]);
            Assert.Equal(1, (int)header["schema"]!["minimum"]!);
        }
        // The hosted checkout page's HTML 503 sends none, and so promises none.
        var page = doc["paths"]!["/checkout/{id}"]!["get"]!["responses"]!["503"]!;
        Assert.Null(page["headers"]);
    }

    [Fact]
    public async Task Limit_is_an_integer_from_1_to_100_on_every_list()
    {
        var doc = await DocumentAsync();
        var limits = doc["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => o.Value!["parameters"]?.AsArray()))
            .Where(ps => ps is not null).SelectMany(ps => ps!).Where(p => (string?)p!["name"] == "limit").ToList();
        Assert.True(limits.Count >= 10, $"{limits.Count} lists");
        foreach (var limit in limits)
        {
            Assert.Equal("integer", (string?)limit!["schema"]!["type"]);
            Assert.Equal(1, (int)limit["schema"]!["minimum"]!);
            Assert.Equal(100, (int)limit["schema"]!["maximum"]!);
        }
    }

    [Fact]
    public async Task Meter_events_document_the_CloudEvents_aliases_the_server_accepts()
    {
        var doc = await DocumentAsync();
        var input = Schema(doc, "MeterEventInput");
        Assert.Superset(new HashSet<string> { "id", "event_name", "type", "customer_id", "subject", "timestamp", "time", "properties", "data", "specversion", "source" },
            PropertyNames(input).ToHashSet());
        Assert.Equal(["id"], Required(input));
        Assert.Equal("#/components/schemas/MeterEventInput", (string?)Schema(doc, "MeterEventBatchRequest")["properties"]!["events"]!["items"]!["$ref"]);

        var customer = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{customer}", new { })).Status);
        var accepted = await host.Client().Post("/v1/meter_events", new { id = Wire.NewId("ev"), type = "api_call", subject = customer, data = new { n = 1 }, specversion = "1.0", source = "test" });
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        Assert.Equal(1, (long)accepted.Body!["accepted"]!);
    }

    private static IEnumerable<JsonObject> Walk(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                yield return o;
                foreach (var (_, child) in o) foreach (var x in Walk(child)) yield return x;
                break;
            case JsonArray a:
                foreach (var child in a) foreach (var x in Walk(child)) yield return x;
                break;
        }
    }

    private static class First
    {
        public sealed record Thing(string A);
        public sealed record Response(string A);
    }

    private static class Second
    {
        public sealed record Thing(string B);
        public sealed record Response(string B);
    }
}

public sealed class OpenApiDocumentTestsSqlite(SqliteHost host) : OpenApiDocumentTests(host), IClassFixture<SqliteHost>;

public sealed class OpenApiDocumentTestsPostgres(PostgresHost host) : OpenApiDocumentTests(host), IClassFixture<PostgresHost>;
