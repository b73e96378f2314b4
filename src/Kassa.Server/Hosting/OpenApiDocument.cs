using Microsoft.AspNetCore.OpenApi;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace Kassa.Server.Hosting;

/// <summary>
/// Fills in what the generator cannot infer: the document's description and licence, the server,
/// bearer authentication on every /v1 operation, and the tag descriptions. The generated document is
/// committed under <c>api/openapi.json</c>; a test fails when the two drift.
/// </summary>
public static class OpenApiDocument
{
    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Customers"] = "Your customers, keyed by your own ids.",
        ["API keys"] = "Secret and publishable keys of the caller's account and mode.",
        ["Audit"] = "Every mutation: who, what, when, with which request.",
        ["Features"] = "What customers can be entitled to: flags, metered allowances, credit systems.",
        ["Products"] = "Plans and add-ons: prices and the features they grant, versioned.",
        ["Events"] = "Every state change, written in the same transaction as the change.",
        ["Webhook endpoints"] = "Where events are delivered, signed the Standard Webhooks way.",
        ["Entitlements"] = "check, track and locks: the hot path, decided by group commit.",
        ["Entities"] = "Seats and other entities: each uses one unit of a feature and carries per-entity balances.",
        ["Credit grants"] = "Buckets of credits or units on a customer's balance, and every movement.",
        ["Subscriptions"] = "Attaching products to customers.",
        ["Invoices"] = "Manual invoices: drafts with lines, finalized with gap-free numbers and posted to the ledger, voided with reversing entries.",
        ["Ledger"] = "The double-entry ledger: balanced, immutable journal entries, the chart of accounts with balances, the trial balance and a CSV export.",
        ["Payments"] = "Sandbox payments: saved cards (test mode), charges that settle invoices, refunds; every attempt is committed before the provider is called.",
        ["Providers"] = "Payment provider configuration per account and mode (Stripe): keys encrypted at rest and never answered, and the webhook URL to register.",
        ["Checkout"] = "Hosted checkout: a session's signed url opens Kassa's own card page (sandbox, with the 3-D Secure step); it completes once, with checkout.completed, or expires (24 h by default) and takes its unpaid subscription and invoice with it.",
        ["Coupons"] = "Coupons: percentage, fixed or trial extension, for once, some or every invoice; max redemptions, expiry, product restriction; validate a code without effect.",
        ["Tax rates"] = "Tax rates by country or state, exclusive or inclusive, chosen at finalize by the customer's address.",
        ["Credit notes"] = "Credit notes against open or paid invoices, and the customer credit balance they and negative invoices feed, applied at the next finalize.",
        ["Provider webhooks"] = "Deliveries from payment providers (no API key: the provider's signature against the tenant's secret), deduplicated and applied once; the sandbox's secret and its dispute simulator.",
        ["Disputes"] = "Disputes (chargebacks) of payments, opened and moved by provider events, with their ledger entries.",
        ["Operations"] = "Health, readiness and metrics; unauthenticated and free of tenant data.",
    };

    /// <summary>
    /// Query parameters as the server reads them. The endpoints take each as a string so that a bad
    /// value gets the API's own error envelope; the document says what a good value is.
    /// </summary>
    private static readonly Dictionary<string, Func<OpenApiSchema>> QuerySchemas = new()
    {
        ["limit"] = () => new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "100", Default = JsonValue.Create(20) },
        ["from"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["to"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["as_of"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        ["include_archived"] = () => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = JsonValue.Create(false) },
        ["window"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("hour"), JsonValue.Create("day"), JsonValue.Create("month")] },
        ["tz"] = () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("UTC")], Default = JsonValue.Create("UTC") },
    };

    /// <summary>Operations that also take a signed <c>token</c> instead of a key (see <c>SignedTokenAccess</c>).</summary>
    private static readonly HashSet<string> SignedLinkOperations = ["getInvoicePage"];

    /// <summary>Operations called by someone without a key at all: a provider's webhook, authenticated by its signature.</summary>
    private static readonly HashSet<string> NoKeyOperations = ["receiveProviderWebhook"];

    /// <summary>
    /// Every JSON 429 and 503 carries <c>Retry-After</c> in whole seconds (ApiResponses.WriteBytes sets it when the
    /// caller did not): documented so a client's retry loop can rely on it. The hosted checkout page's HTML 503 has none.
    /// </summary>
    private static void DocumentRetryAfter(OpenApiOperation operation)
    {
        foreach (var (code, response) in operation.Responses ?? [])
        {
            if (code is not ("429" or "503") || response is not OpenApiResponse json
                || json.Content?.Keys.Any(k => k.StartsWith("application/json", StringComparison.Ordinal)) != true) continue;
            json.Headers ??= new Dictionary<string, IOpenApiHeader>();
            json.Headers["Retry-After"] = new OpenApiHeader
            {
                Required = true,
                Description = "Seconds to wait before retrying.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
            };
        }
    }

    public static void Configure(OpenApiOptions options)
    {
        options.CreateSchemaReferenceId = OpenApiSchemas.SchemaId;
        options.AddOperationTransformer(async (operation, context, ct) =>
        {
            foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
                if (parameter.In == ParameterLocation.Query && parameter.Name is { } name && QuerySchemas.TryGetValue(name, out var schema))
                    parameter.Schema = schema();
            var body = context.Description.ActionDescriptor.EndpointMetadata.OfType<Kassa.Server.Endpoints.JsonRequestBody>().FirstOrDefault();
            if (body is null) return;
            // The document pass (OpenApiSchemas.Apply) turns this schema into a named component and
            // decides whether the body is required, from the body's .NET type recorded here.
            if (operation.OperationId is { } id) OpenApiSchemas.RequestBodies[id] = body.Type;
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = false,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(body.Type, null, ct) } },
            };
        });
        options.AddDocumentTransformer((document, _, _) =>
        {
            OpenApiSchemas.Apply(document);
            document.Info = new OpenApiInfo
            {
                Title = "Kassa API",
                Version = "v1",
                Description = """
                    The HTTP API of Kassa, an open-source billing engine. JSON in and out, snake_case names,
                    amounts in integer minor units. Authenticate with `Authorization: Bearer sk_test_…`.
                    Every POST, PUT, PATCH and DELETE accepts an `Idempotency-Key` header (1–255 printable
                    ASCII characters): the first completed response is stored for 24 hours and replayed
                    with `Idempotent-Replayed: true`; the same key with another method, path or body answers
                    422 `idempotency_key_reused`; a retry while the first is running answers 409
                    `idempotency_key_in_use`. Lists take `limit` (1–100, default 20) and `starting_after`
                    (the `next_cursor` of the previous page) and return newest first. Unknown JSON fields are
                    refused with 400 `unknown_field`. Bodies over 1 MiB answer 413 `payload_too_large`.
                    """,
                License = new OpenApiLicense { Name = "Apache-2.0", Identifier = "Apache-2.0" },
                Contact = new OpenApiContact { Name = "Kassa maintainers" },
            };
            document.Servers = [new OpenApiServer { Url = "http://127.0.0.1:8080", Description = "A local kassa serve" }];
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                ["apiKey"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A secret key (sk_test_… / sk_live_…); a few read-only endpoints also take a publishable key (pk_…).",
                },
            };
            document.Tags = new HashSet<OpenApiTag>(TagDescriptions.Select(t => new OpenApiTag { Name = t.Key, Description = t.Value }));
            foreach (var (path, item) in document.Paths)
            {
                if (item.Operations is null) continue;
                var authenticated = path.StartsWith("/v1/", StringComparison.Ordinal);
                foreach (var operation in item.Operations.Values)
                {
                    // Operational routes are explicitly open (an empty list), not silently undocumented.
                    operation.Security = authenticated && !(operation.OperationId is { } own && NoKeyOperations.Contains(own))
                        ? [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] }]
                        : [];
                    // Pages opened through a signed link also work without a key (an empty requirement).
                    if (authenticated && operation.OperationId is { } id && SignedLinkOperations.Contains(id)) operation.Security.Add(new OpenApiSecurityRequirement());
                    DocumentRetryAfter(operation);
                }
            }
            return Task.CompletedTask;
        });
    }
}
