using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Kassa.Engine.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Document = Microsoft.OpenApi.OpenApiDocument;

namespace Kassa.Server.Hosting;

/// <summary>
/// Makes the generated schemas say what the server really reads and writes. The generator alone
/// gets several things wrong for this API: it names nested records by their short name (two
/// <c>Response</c> types collide), marks every constructor parameter required, marks every
/// reference type nullable (the API's JSON options do not enforce nullable annotations), knows
/// nothing of the custom converters (RFC 3339 timestamps, decimal strings, <c>Included</c>,
/// <c>Optional&lt;T&gt;</c>) and types decimals as doubles. This pass rebuilds each schema from the
/// .NET type the server serializes, so the rules live in one place:
/// <list type="bullet">
/// <item>every schema name is unique and readable (<see cref="SchemaId"/>);</item>
/// <item>a request field is required only where the server answers <c>parameter_missing</c> without
/// it (<see cref="RequiredInRequests"/>); a response field is always required, because the server
/// writes every property, nulls included;</item>
/// <item>a field is nullable exactly where its .NET type is (<c>T?</c>), as <c>type: [X, "null"]</c>,
/// or <c>oneOf: [null, $ref]</c> for a reference to a schema that never matches null;</item>
/// <item>a type used by both requests and responses gets a request copy named <c>…Input</c>, since
/// the two differ in which fields are required.</item>
/// </list>
/// The contract test (<c>api/contract/validate.mjs</c>) checks the result against every exchange of
/// the HTTP suite.
/// </summary>
public static class OpenApiSchemas
{
    /// <summary>Names chosen by hand: nested result types whose short names say too little.</summary>
    private static readonly Dictionary<Type, string> ExplicitNames = new()
    {
        [typeof(Kassa.Engine.Metering.IngestMeterEvents.Response)] = "MeterEventBatchResult",
        [typeof(Kassa.Engine.Metering.IngestMeterEvents.Rejected)] = "MeterEventRejection",
        [typeof(Kassa.Engine.Subscriptions.Subscribe.Response)] = "SubscribeResult",
        [typeof(Kassa.Engine.Balances.SummarizeCreditGrants.Summary)] = "CreditGrantSummary",
        [typeof(Kassa.Engine.Balances.SummarizeCreditGrants.FeatureSummary)] = "CreditGrantFeatureSummary",
        [typeof(Kassa.Engine.Balances.SummarizeCreditGrants.Expiring)] = "CreditGrantExpiring",
        [typeof(Kassa.Engine.Metering.GetMeterUsage.UsageResource)] = "MeterUsage",
        [typeof(Endpoints.MeteringEndpoints.MeterEventInputDoc)] = "MeterEventInput",
        [typeof(Endpoints.MeteringEndpoints.BatchRequest)] = "MeterEventBatchRequest",
        [typeof(Kassa.Engine.Coupons.ValidateCoupon.Response)] = "CouponValidation",
        [typeof(Kassa.Engine.CreditNotes.CreateCreditNote.LineRequest)] = "CreditNoteLineRequest",
        [typeof(Kassa.Engine.Subscriptions.PreviewSubscribe.Preview)] = "SubscriptionPreview",
        [typeof(Kassa.Engine.Subscriptions.PreviewSubscribe.LineItem)] = "SubscriptionPreviewLine",
        [typeof(Kassa.Engine.Subscriptions.Subscribe.RequiredAction)] = "SubscribeRequiredAction",
        [typeof(Kassa.Engine.Catalog.MigrateProduct.Request)] = "ProductMigrationRequest",
        [typeof(Kassa.Engine.Catalog.MigrateProduct.Migration)] = "ProductMigration",
    };

    /// <summary>Short names that only make sense with their declaring type (<c>Subscribe.Request</c> → <c>SubscribeRequest</c>).</summary>
    private static readonly HashSet<string> GenericNames = ["Request", "Response", "Result", "Summary", "Item", "Entry", "Input", "Output", "Options"];

    /// <summary>
    /// The request fields without which the server answers 400 <c>parameter_missing</c> (the use
    /// cases check them themselves, because the records are nullable to let them). Every other request
    /// field may be left out. Keep in step with the <c>KassaError.Missing</c> calls.
    /// </summary>
    private static readonly Dictionary<Type, string[]> RequiredInRequests = new()
    {
        [typeof(Kassa.Engine.Balances.Check.Request)] = ["customer_id", "feature_id"],
        [typeof(Kassa.Engine.Balances.Track.Request)] = ["customer_id", "feature_id"],
        [typeof(Kassa.Engine.Balances.FinalizeLock.Request)] = ["action"],
        [typeof(Kassa.Engine.Balances.CreateCreditGrant.Request)] = ["customer_id", "feature_id", "amount", "category"],
        [typeof(Kassa.Engine.Balances.AdjustBalance.Request)] = ["feature_id", "reason"],
        [typeof(Kassa.Engine.Entities.CreateEntity.Request)] = ["id", "feature_id"],
        [typeof(Kassa.Engine.ApiKeys.CreateApiKey.Request)] = ["name", "type"],
        [typeof(Kassa.Engine.Catalog.CreateFeature.Request)] = ["id", "type"],
        [typeof(Kassa.Engine.Catalog.CreateProduct.Request)] = ["id"],
        [typeof(Kassa.Engine.TopUps.SetAutoTopUp.Request)] = ["feature_id", "threshold", "quantity", "product_id"],
        [typeof(Kassa.Engine.Webhooks.CreateWebhookEndpoint.Request)] = ["url", "events"],
        [typeof(Kassa.Engine.SpendCaps.SetSpendCap.Request)] = ["max_overage_amount"],
        [typeof(Kassa.Engine.Metering.CreateMeter.Request)] = ["id", "name", "event_name", "aggregation"],
        [typeof(Kassa.Engine.Subscriptions.Subscribe.Request)] = ["customer_id", "product_id"],
        [typeof(Kassa.Engine.Payments.ConfigureProvider.Request)] = ["secret_key"],
        [typeof(Kassa.Engine.Catalog.MigrateProduct.Request)] = ["from_version"],
        [typeof(Endpoints.MeteringEndpoints.BatchRequest)] = ["events"],
        [typeof(Kassa.Engine.Invoices.CreateInvoice.Request)] = ["customer_id", "currency"],
        [typeof(Kassa.Engine.Invoices.AddInvoiceLine.Request)] = ["description"],
        [typeof(Kassa.Engine.Payments.AttachPaymentMethod.Request)] = ["customer_id", "card"],
        [typeof(Kassa.Engine.Payments.SetDefaultPaymentMethod.Request)] = ["payment_method_id"],
        [typeof(Kassa.Engine.Payments.CreatePayment.Request)] = ["customer_id", "amount", "currency", "description"],
        [typeof(Kassa.Engine.Checkout.CreateCheckoutSession.Request)] = ["customer_id", "mode", "success_url", "cancel_url"],
        [typeof(Kassa.Engine.Coupons.CreateCoupon.Request)] = ["code", "type", "value", "duration"],
        [typeof(Kassa.Engine.Coupons.ValidateCoupon.Request)] = ["code", "product_id", "amount"],
        [typeof(Kassa.Engine.TaxRates.CreateTaxRate.Request)] = ["name", "country", "percentage", "inclusive"],
        [typeof(Kassa.Engine.CreditNotes.CreateCreditNote.Request)] = ["invoice_id", "reason", "refund"],
        [typeof(Kassa.Engine.CustomerCredit.AdjustCreditBalance.Request)] = ["amount", "currency", "description"],
        [typeof(Kassa.Engine.Subscriptions.UpdateSubscriptionQuantity.Request)] = ["quantity"],
        [typeof(Kassa.Engine.TestClocks.CreateTestClock.Request)] = ["frozen_time"],
        [typeof(Kassa.Engine.TestClocks.AdvanceTestClock.Request)] = ["to"],
    };

    /// <summary>
    /// String fields with a fixed vocabulary, from the sets the server validates against (so the two
    /// cannot drift). A request outside one is refused; a response never holds anything else.
    /// </summary>
    private static readonly Dictionary<(Type Type, string Property), IEnumerable<string>> Vocabularies = new()
    {
        [(typeof(Kassa.Engine.Catalog.CreateFeature.Request), "type")] = Kassa.Engine.Catalog.CatalogRules.FeatureTypes,
        [(typeof(Kassa.Engine.Catalog.FeatureResource), "type")] = Kassa.Engine.Catalog.CatalogRules.FeatureTypes,
        [(typeof(Kassa.Engine.Storage.Price), "interval")] = Kassa.Engine.Catalog.CatalogRules.Intervals,
        [(typeof(Kassa.Engine.Storage.Price), "billing")] = Kassa.Engine.Catalog.CatalogRules.Billings,
        [(typeof(Kassa.Engine.Storage.ProductFeature), "reset")] = Kassa.Engine.Catalog.CatalogRules.Resets,
        [(typeof(Kassa.Engine.Storage.ProductFeature), "overage")] = Kassa.Engine.Catalog.CatalogRules.Overages,
        [(typeof(Kassa.Engine.Metering.CreateMeter.Request), "aggregation")] = AggregationNames(),
        [(typeof(Kassa.Engine.Metering.MeterResource), "aggregation")] = AggregationNames(),
        [(typeof(Kassa.Engine.Balances.FinalizeLock.Request), "action")] = ["confirm", "release"],
        [(typeof(Kassa.Engine.Invoices.InvoiceResource), "status")] = Kassa.Engine.Invoices.InvoiceRules.Statuses,
        [(typeof(Kassa.Engine.Coupons.CreateCoupon.Request), "type")] = Kassa.Engine.Coupons.CouponWords.Types,
        [(typeof(Kassa.Engine.Coupons.CouponResource), "type")] = Kassa.Engine.Coupons.CouponWords.Types,
        [(typeof(Kassa.Engine.Coupons.CreateCoupon.Request), "duration")] = Kassa.Engine.Coupons.CouponWords.Durations,
        [(typeof(Kassa.Engine.Coupons.CouponResource), "duration")] = Kassa.Engine.Coupons.CouponWords.Durations,
        [(typeof(Kassa.Engine.CreditNotes.CreateCreditNote.Request), "refund")] = Kassa.Engine.CreditNotes.CreditNoteWords.Refunds,
        [(typeof(Kassa.Engine.CreditNotes.CreditNoteResource), "refund")] = Kassa.Engine.CreditNotes.CreditNoteWords.Refunds,
        [(typeof(Kassa.Engine.CreditNotes.CreditNoteResource), "kind")] =
            [Kassa.Engine.CreditNotes.CreditNoteWords.OpenInvoice, Kassa.Engine.CreditNotes.CreditNoteWords.CustomerCredit, Kassa.Engine.CreditNotes.CreditNoteWords.PaymentRefund],
        [(typeof(Kassa.Engine.CreditNotes.CreditNoteResource), "status")] = [Kassa.Engine.CreditNotes.CreditNoteWords.Issued, Kassa.Engine.CreditNotes.CreditNoteWords.Void],
        [(typeof(Kassa.Engine.Ledger.LedgerAccountResource), "type")] = Kassa.Engine.Ledger.ListLedgerAccounts.Types,
        [(typeof(Kassa.Engine.Ledger.LedgerAccountResource), "normal_balance")] = ["credit", "debit"],
        [(typeof(Kassa.Engine.Subscriptions.SubscriptionResource), "status")] = Kassa.Engine.Subscriptions.SubscriptionStatus.All,
        [(typeof(Kassa.Engine.Subscriptions.Subscribe.Response), "status")] = Kassa.Engine.Subscriptions.Subscribe.ResultStatuses,
        [(typeof(Kassa.Engine.Subscriptions.Subscribe.RequiredAction), "code")] = Kassa.Engine.Subscriptions.Subscribe.ActionCodes,
        [(typeof(Kassa.Engine.Subscriptions.CancelSubscription.Request), "at")] = Kassa.Engine.Subscriptions.CancelSubscription.Ats,
        [(typeof(Kassa.Engine.Subscriptions.CancelSubscription.Request), "refund")] = Kassa.Engine.Subscriptions.CancelSubscription.Refunds,
        [(typeof(Kassa.Engine.TestClocks.TestClockResource), "status")] = Kassa.Engine.TestClocks.TestClockRules.Statuses,
        [(typeof(Kassa.Engine.TopUps.AutoTopUpResource), "status")] = Kassa.Engine.TopUps.AutoTopUpRules.Statuses,
        [(typeof(Kassa.Engine.Checkout.CreateCheckoutSession.Request), "mode")] = Kassa.Engine.Checkout.CheckoutRules.Modes,
        [(typeof(Kassa.Engine.Checkout.CheckoutSessionResource), "mode")] = Kassa.Engine.Checkout.CheckoutRules.Modes,
        [(typeof(Kassa.Engine.Checkout.CheckoutSessionResource), "status")] = Kassa.Engine.Checkout.CheckoutRules.Statuses,
        [(typeof(Kassa.Engine.Disputes.DisputeResource), "status")] = Kassa.Engine.Disputes.DisputeStatuses.All.Order(StringComparer.Ordinal),
    };

    private static string[] AggregationNames() => [.. Enum.GetValues<Kassa.Core.Metering.Aggregation>().Select(Kassa.Core.Metering.Aggregations.ToWire)];

    // Schema name → .NET type, filled as names are handed out; a second type asking for a taken name
    // is a bug (two SDK types would merge), so generation fails loudly instead.
    private static readonly ConcurrentDictionary<string, Type> Names = new();


    /// <summary>The <see cref="OpenApiOptions.CreateSchemaReferenceId"/> rule: unique, stable, readable names.</summary>
    public static string? SchemaId(JsonTypeInfo info)
    {
        var type = info.Type;
        // Optional<T> is T on the wire; the pass below replaces its (empty) schema with T's.
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>)) return null;
        string? id;
        if (ExplicitNames.TryGetValue(type, out var name)) id = name;
        else
        {
            id = OpenApiOptions.CreateDefaultSchemaReferenceId(info);
            if (id is not null && type.IsNested && GenericNames.Contains(type.Name)) id = type.DeclaringType!.Name + type.Name;
        }
        if (id is null) return null;
        var owner = Names.GetOrAdd(id, type);
        if (owner != type)
            throw new InvalidOperationException($"The schema name {id} is wanted by {owner.FullName} and {type.FullName}: give one of them an explicit name");
        return id;
    }

    private static string NameOf(Type type) => SchemaId(KassaJson.Options.GetTypeInfo(type))
        ?? throw new InvalidOperationException($"{type.FullName} has no schema name");

    /// <summary>Request body types by operation id, recorded by the operation transformer for the pass below.</summary>
    public static ConcurrentDictionary<string, Type> RequestBodies { get; } = new();

    /// <summary>The document pass: rebuild every schema from its .NET type, then split and mark required fields.</summary>
    public static void Apply(Document document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        HandWritten(document);
        var pass = new Pass(document);
        foreach (var operation in Operations(document))
        {
            if (operation.RequestBody?.Content is { } content && RequestBodies.TryGetValue(operation.OperationId ?? "", out var bodyType))
            {
                foreach (var media in content.Values) media.Schema = pass.Normalize(media.Schema, bodyType);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = RequiredInRequests.ContainsKey(bodyType),
                    Content = content,
                };
            }
            foreach (var response in (operation.Responses ?? []).Values)
                foreach (var media in (response.Content ?? new Dictionary<string, OpenApiMediaType>()).Values)
                    if (media.Schema is OpenApiSchemaReference r) pass.Component(r.Reference.Id!);
        }
        MeterEvents(document);
        CarryOver(document);
        SplitAndRequire(document);
        Prune(document);
        document.Components.Schemas = new SortedDictionary<string, IOpenApiSchema>(document.Components.Schemas, StringComparer.Ordinal);
    }

    private static IEnumerable<OpenApiOperation> Operations(Document document) =>
        document.Paths.Values.SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>());

    /// <summary>Rebuilds schemas from .NET types; each component once.</summary>
    private sealed class Pass(Document document)
    {
        private readonly HashSet<string> _done = [];
        private IDictionary<string, IOpenApiSchema> Schemas => document.Components!.Schemas!;

        public void Component(string id)
        {
            if (!_done.Add(id) || !Names.TryGetValue(id, out var type) || !Schemas.TryGetValue(id, out var schema)) return;
            if (schema is OpenApiSchema object_ && object_.Properties is not null) Properties(object_, type);
        }

        private void Properties(OpenApiSchema schema, Type type)
        {
            var info = KassaJson.Options.GetTypeInfo(type);
            foreach (var property in info.Properties)
            {
                if (!schema.Properties!.TryGetValue(property.Name, out var existing)) continue;
                var (inner, nullable) = Unwrap(property);
                var rebuilt = property.CustomConverter is DecimalStringConverter ? DecimalString() : Normalize(existing, inner);
                if (rebuilt is OpenApiSchema { Type: JsonSchemaType.String } text && Vocabularies.TryGetValue((type, property.Name), out var words))
                    text.Enum = [.. words.Order(StringComparer.Ordinal).Select(w => (JsonNode)JsonValue.Create(w))];
                schema.Properties[property.Name] = nullable ? OrNull(rebuilt, Schemas) : rebuilt;
            }
        }

        /// <summary>The schema of a value of <paramref name="type"/> (not null: the caller adds null where allowed).</summary>
        public IOpenApiSchema Normalize(IOpenApiSchema? existing, Type type)
        {
            if (type == typeof(string)) return new OpenApiSchema { Type = JsonSchemaType.String };
            if (type == typeof(bool)) return new OpenApiSchema { Type = JsonSchemaType.Boolean };
            if (type == typeof(int)) return new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" };
            if (type == typeof(long)) return new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" };
            // System.Text.Json writes a decimal as a plain JSON number; "double" would promise binary floating point.
            if (type == typeof(decimal)) return new OpenApiSchema { Type = JsonSchemaType.Number };
            if (type == typeof(DateTimeOffset))
                return new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time", Description = "RFC 3339, UTC" };
            if (type == typeof(Included)) return Ref("Included");
            if (type == typeof(JsonElement) || type == typeof(object)) return new OpenApiSchema();
            var info = KassaJson.Options.GetTypeInfo(type);
            switch (info.Kind)
            {
                case JsonTypeInfoKind.Enumerable:
                {
                    var element = info.ElementType!;
                    var items = Normalize((existing as OpenApiSchema)?.Items ?? (existing as OpenApiSchemaReference)?.Items, Underlying(element, out var n));
                    return new OpenApiSchema { Type = JsonSchemaType.Array, Items = n ? OrNull(items, Schemas) : items };
                }
                case JsonTypeInfoKind.Dictionary:
                {
                    var value = Normalize((existing as OpenApiSchema)?.AdditionalProperties, Underlying(info.ElementType!, out var n));
                    return new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = n ? OrNull(value, Schemas) : value };
                }
                case JsonTypeInfoKind.Object:
                {
                    var id = NameOf(type);
                    if (!Schemas.ContainsKey(id))
                    {
                        // A type met only in a request body is inline in the generated document: hoist it.
                        var inline = Strip(existing) as OpenApiSchema ?? throw new InvalidOperationException($"no schema for {type.FullName}");
                        Schemas[id] = inline;
                    }
                    Component(id);
                    return Ref(id);
                }
                default:
                    return Strip(existing) ?? new OpenApiSchema();
            }
        }

        private OpenApiSchemaReference Ref(string id) => new(id, document);
    }

    /// <summary>The type on the wire and whether null is allowed, from the property's declared type.</summary>
    private static (Type Inner, bool Nullable) Unwrap(JsonPropertyInfo property)
    {
        var type = property.PropertyType;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>))
        {
            // Optional<T> in a PATCH body: absent leaves the field alone, null clears it (Optional's contract).
            var argument = type.GetGenericArguments()[0];
            return (Nullable.GetUnderlyingType(argument) ?? argument, true);
        }
        if (Nullable.GetUnderlyingType(type) is { } underlying) return (underlying, true);
        if (type.IsValueType) return (type, false);
        var nullable = property.AttributeProvider switch
        {
            // A context per call: NullabilityInfoContext is not thread-safe, and hosts may generate documents in parallel.
            PropertyInfo p => new NullabilityInfoContext().Create(p).ReadState == NullabilityState.Nullable,
            FieldInfo f => new NullabilityInfoContext().Create(f).ReadState == NullabilityState.Nullable,
            _ => true,
        };
        return (type, nullable);
    }

    private static Type Underlying(Type type, out bool nullable)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        nullable = underlying is not null;
        return underlying ?? type;
    }

    /// <summary>Drops the generator's "null" (it marks every reference type nullable) so the pass can add it where true.</summary>
    private static IOpenApiSchema? Strip(IOpenApiSchema? schema)
    {
        if (schema is OpenApiSchema { OneOf: { Count: 2 } oneOf } && oneOf.Any(IsNull)) return oneOf.First(s => !IsNull(s));
        if (schema is OpenApiSchema s2 && s2.Type is { } t && t.HasFlag(JsonSchemaType.Null) && t != JsonSchemaType.Null)
        {
            s2.Type = t & ~JsonSchemaType.Null;
            if (s2.Enum is { } values) s2.Enum = [.. values.Where(v => v is not null)];
        }
        return schema;
    }

    private static bool IsNull(IOpenApiSchema s) => s is OpenApiSchema { Type: JsonSchemaType.Null };

    /// <summary>Adds null to a schema: in its type list, or as a oneOf beside a reference (whose target never matches null).</summary>
    private static IOpenApiSchema OrNull(IOpenApiSchema schema, IDictionary<string, IOpenApiSchema> schemas)
    {
        switch (schema)
        {
            case OpenApiSchemaReference reference:
                // A reference to the any-value schema already allows null; oneOf would then match twice.
                // (Looked up in the components, not through Target, which may still hold the generator's schema.)
                if (reference.Reference.Id is { } id && schemas.TryGetValue(id, out var target)
                    && target is OpenApiSchema { Type: null, OneOf: null, AnyOf: null, Properties: null }) return schema;
                return new OpenApiSchema { OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, schema] };
            case OpenApiSchema { Type: { } type } typed:
                typed.Type = type | JsonSchemaType.Null;
                if (typed.Enum is { Count: > 0 } values && !values.Any(v => v is null)) values.Add(null!);
                return typed;
            default:
                return schema;
        }
    }

    /// <summary>Exact decimals travel as strings (<see cref="DecimalStringConverter"/>), so clients never round them through a double.</summary>
    private static OpenApiSchema DecimalString() => new()
    {
        Type = JsonSchemaType.String,
        Pattern = "^-?[0-9]+(\\.[0-9]+)?$",
        Description = "An exact decimal as a string, such as \"0.02\".",
    };

    /// <summary>The schema of <see cref="Included"/>, which its converter decides: written by hand, before the pass refers to it.</summary>
    private static void HandWritten(Document document)
    {
        document.Components!.Schemas!["Included"] = new OpenApiSchema
        {
            Description = "An allowance: a number of units, or \"unlimited\".",
            OneOf =
            [
                new OpenApiSchema { Type = JsonSchemaType.Number, Minimum = "0" },
                new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("unlimited")] },
            ],
        };
    }

    /// <summary>Meter events, which the server reads as raw JSON: written by hand.</summary>
    private static void MeterEvents(Document document)
    {
        var schemas = document.Components!.Schemas!;
        if (schemas.ContainsKey("MeterEventInput"))
        {
            // The server reads events as raw JSON (MeterEventInput.TryNormalize) and takes the CloudEvents
            // names as aliases (spec §6): exactly one name of each pair, and the envelope fields ignored.
            static OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, MinLength = 1, Description = description };
            static OpenApiSchema Time(string description) => new() { Type = JsonSchemaType.String, Format = "date-time", Description = description };
            static OpenApiSchema Properties(string description) => new() { Type = JsonSchemaType.Object, Description = description };
            static OpenApiSchema Present(params string[] names) => new()
            {
                Properties = names.ToDictionary(n => n, IOpenApiSchema (_) => new OpenApiSchema()),
                Required = new HashSet<string>(names),
            };
            static OpenApiSchema OneOfNames(string a, string b) => new() { OneOf = [Present(a), Present(b)] };
            static OpenApiSchema NotBoth(string a, string b) => new() { Not = Present(a, b) };
            schemas["MeterEventInput"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "One usage event. The CloudEvents names type, subject, time and data are accepted as aliases of " +
                    "event_name, customer_id, timestamp and properties (one name of each pair, not both); specversion, source " +
                    "and datacontenttype are accepted and ignored, so a CloudEvents producer can post unchanged.",
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255, Description = "Unique per event; a repeat within 35 days is a duplicate, counted once." },
                    ["event_name"] = Text("What happened; meters select events by it."),
                    ["type"] = Text("CloudEvents alias of event_name."),
                    ["customer_id"] = Text("The customer the usage belongs to."),
                    ["subject"] = Text("CloudEvents alias of customer_id."),
                    ["timestamp"] = Time("When it happened (default: now); at most 35 days ago and 5 minutes ahead."),
                    ["time"] = Time("CloudEvents alias of timestamp."),
                    ["properties"] = Properties("Values meters aggregate and group by; at most 64 KiB as JSON."),
                    ["data"] = Properties("CloudEvents alias of properties."),
                    ["specversion"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "CloudEvents envelope field, ignored." },
                    ["source"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "CloudEvents envelope field, ignored." },
                    ["datacontenttype"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "CloudEvents envelope field, ignored." },
                },
                Required = new HashSet<string> { "id" },
                AllOf = [OneOfNames("event_name", "type"), OneOfNames("customer_id", "subject"), NotBoth("timestamp", "time"), NotBoth("properties", "data")],
                AdditionalPropertiesAllowed = false,
            };
        }
        // CloudEvents producers post one structured event (application/cloudevents+json) or a bare array of
        // them (application/cloudevents-batch+json); both are read as the JSON forms above.
        foreach (var (path, item) in document.Paths)
        {
            if (item.Operations?.GetValueOrDefault(System.Net.Http.HttpMethod.Post)?.RequestBody?.Content is not { } content) continue;
            if (path == "/v1/meter_events")
                content["application/cloudevents+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference("MeterEventInput", document) };
            if (path == "/v1/meter_events/batch")
            {
                content["application/cloudevents-batch+json"] = new OpenApiMediaType
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Array, MinItems = 1, MaxItems = Kassa.Core.Metering.MeterEventInput.BatchMax,
                        Description = "A CloudEvents JSON batch: the events themselves, without the events wrapper; each is checked on its own.",
                        Items = new OpenApiSchemaReference("MeterEventInput", document),
                    },
                };
            }
        }
        if (schemas.TryGetValue("MeterEventBatchRequest", out var batch) && batch is OpenApiSchema b && b.Properties is { } properties)
        {
            properties["events"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                MinItems = 1,
                MaxItems = Kassa.Core.Metering.MeterEventInput.BatchMax,
                Description = "Each event is checked on its own: invalid ones are listed in the answer's rejected, the others stored.",
                Items = new OpenApiSchemaReference("MeterEventInput", document),
            };
        }
    }

    /// <summary>
    /// <c>carry_over</c> on subscribe (spec §4.1): exactly one of <c>{"balances": true}</c> and
    /// <c>{"usages": [feature ids]}</c>, as <see cref="Kassa.Engine.Subscriptions.CarryOverBalances.Validate"/> insists.
    /// </summary>
    private static void CarryOver(Document document)
    {
        var schemas = document.Components!.Schemas!;
        if (!schemas.ContainsKey("CarryOver")) return;
        static OpenApiSchema Present(string name) => new() { Required = new HashSet<string> { name } };
        schemas["CarryOver"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Only with an upgrade within a group. balances: the old plan's unused allowance is added once to the new balance " +
                "(until its next reset); usages: the old plan's usage so far is deducted from the new allowance.",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["balances"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Enum = [JsonValue.Create(true)] },
                ["usages"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Array,
                    MinItems = 1,
                    MaxItems = Kassa.Engine.Subscriptions.CarryOverBalances.UsagesMax,
                    UniqueItems = true,
                    Description = "Metered features of the new product.",
                    Items = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1 },
                },
            },
            OneOf = [Present("balances"), Present("usages")],
            AdditionalPropertiesAllowed = false,
        };
    }

    /// <summary>
    /// Marks required fields: all of them in responses (the server writes every property), only the
    /// ones the server insists on in requests. A component used both ways gets a request copy, <c>…Input</c>.
    /// </summary>
    private static void SplitAndRequire(Document document)
    {
        var schemas = document.Components!.Schemas!;
        var inRequests = new HashSet<string>();
        var inResponses = new HashSet<string>();
        foreach (var operation in Operations(document))
        {
            foreach (var media in (operation.RequestBody?.Content ?? new Dictionary<string, OpenApiMediaType>()).Values) Reach(media.Schema, schemas, inRequests);
            foreach (var response in (operation.Responses ?? []).Values)
                foreach (var media in (response.Content ?? new Dictionary<string, OpenApiMediaType>()).Values) Reach(media.Schema, schemas, inResponses);
        }
        // Only objects differ between the two sides; a shared scalar or union schema (Included) stays one.
        var shared = inRequests.Where(id => inResponses.Contains(id) && schemas[id] is OpenApiSchema { Properties.Count: > 0 }).ToHashSet();
        foreach (var id in inRequests) schemas[shared.Contains(id) ? id + "Input" : id] = Copy(schemas[id], shared, document);
        foreach (var operation in Operations(document))
            foreach (var media in (operation.RequestBody?.Content ?? new Dictionary<string, OpenApiMediaType>()).Values)
                media.Schema = Copy(media.Schema!, shared, document);

        foreach (var id in inResponses)
        {
            if (schemas[id] is not OpenApiSchema { Properties.Count: > 0 } s) continue;
            // A property written only when it has a value ([JsonIgnore(WhenWritingNull)], such as a webhook
            // endpoint's secret outside the create answer) is the one exception to "always written".
            var sometimes = Names.TryGetValue(id, out var type)
                ? KassaJson.Options.GetTypeInfo(type).Properties.Where(p => p.ShouldSerialize is not null).Select(p => p.Name).ToHashSet()
                : [];
            s.Required = new SortedSet<string>(s.Properties.Keys.Where(k => !sometimes.Contains(k)), StringComparer.Ordinal);
        }
        foreach (var id in inRequests)
        {
            var requestId = shared.Contains(id) ? id + "Input" : id;
            if (schemas[requestId] is not OpenApiSchema { Properties.Count: > 0 } s || id == "MeterEventInput") continue;
            var required = Names.TryGetValue(id, out var bodyType) && RequiredInRequests.TryGetValue(bodyType, out var fields) ? fields : [];
            s.Required = required.Length == 0 ? null : new SortedSet<string>(required, StringComparer.Ordinal);
            // A required field sent as null counts as missing (parameter_missing), so null is no valid value for it.
            foreach (var field in required)
            {
                if (s.Properties!.TryGetValue(field, out var property)) s.Properties[field] = Strip(property)!;
            }
        }
    }

    /// <summary>Drops components nothing refers to any more (the generator's own, replaced above).</summary>
    private static void Prune(Document document)
    {
        var schemas = document.Components!.Schemas!;
        var used = new HashSet<string>();
        foreach (var operation in Operations(document))
        {
            foreach (var media in (operation.RequestBody?.Content ?? new Dictionary<string, OpenApiMediaType>()).Values) Reach(media.Schema, schemas, used);
            foreach (var response in (operation.Responses ?? []).Values)
                foreach (var media in (response.Content ?? new Dictionary<string, OpenApiMediaType>()).Values) Reach(media.Schema, schemas, used);
            foreach (var parameter in operation.Parameters ?? []) Reach(parameter.Schema, schemas, used);
        }
        foreach (var id in schemas.Keys.Where(k => !used.Contains(k)).ToList()) schemas.Remove(id);
    }

    private static void Reach(IOpenApiSchema? schema, IDictionary<string, IOpenApiSchema> schemas, HashSet<string> seen)
    {
        switch (schema)
        {
            case null:
                return;
            case OpenApiSchemaReference reference:
                if (reference.Reference.Id is { } id && seen.Add(id) && schemas.TryGetValue(id, out var target)) Reach(target, schemas, seen);
                return;
        }
        foreach (var child in Children(schema)) Reach(child, schemas, seen);
    }

    private static IEnumerable<IOpenApiSchema> Children(IOpenApiSchema schema)
    {
        if (schema.Properties is { } p) foreach (var s in p.Values) yield return s;
        if (schema.Items is { } i) yield return i;
        if (schema.AdditionalProperties is { } a) yield return a;
        foreach (var list in new[] { schema.OneOf, schema.AnyOf, schema.AllOf })
            if (list is not null) foreach (var s in list) yield return s;
        if (schema.Not is { } n) yield return n;
    }

    /// <summary>A copy of a request-side schema whose references to shared components point at their …Input copies.</summary>
    private static IOpenApiSchema Copy(IOpenApiSchema schema, HashSet<string> shared, Document document)
    {
        if (schema is OpenApiSchemaReference reference)
            return reference.Reference.Id is { } id && shared.Contains(id) ? new OpenApiSchemaReference(id + "Input", document) : schema;
        if (schema is not OpenApiSchema s) return schema;
        var copy = (OpenApiSchema)s.CreateShallowCopy();
        if (s.Properties is not null) copy.Properties = s.Properties.ToDictionary(kv => kv.Key, kv => Copy(kv.Value, shared, document));
        if (s.Items is not null) copy.Items = Copy(s.Items, shared, document);
        if (s.AdditionalProperties is not null) copy.AdditionalProperties = Copy(s.AdditionalProperties, shared, document);
        if (s.OneOf is not null) copy.OneOf = s.OneOf.Select(x => Copy(x, shared, document)).ToList();
        if (s.AnyOf is not null) copy.AnyOf = s.AnyOf.Select(x => Copy(x, shared, document)).ToList();
        if (s.AllOf is not null) copy.AllOf = s.AllOf.Select(x => Copy(x, shared, document)).ToList();
        if (s.Required is not null) copy.Required = new HashSet<string>(s.Required);
        return copy;
    }
}
