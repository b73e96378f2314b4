using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Engine.TestClocks;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §6: meters, event ingestion, usage from rollups, raw events.</summary>
public static class MeteringEndpoints
{
    /// <summary>Documents one event's shape; the server reads events as raw JSON so each can be refused on its own.</summary>
    public sealed record MeterEventInputDoc(string Id, string EventName, string CustomerId, DateTimeOffset? Timestamp, Dictionary<string, JsonElement>? Properties);

    public sealed record BatchRequest(List<JsonElement>? Events);

    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Metering";
        v1.MapPost("/meters", (HttpContext http, Api api) =>
                api.Mutate<CreateMeter.Request, MeterRecord>(http, CreateMeter.Execute, m => new Reply(StatusCodes.Status201Created, MeterResource.From(m))))
            .Doc("createMeter", "Define how events aggregate (optionally tracked against a feature)", tag)
            .Body<CreateMeter.Request>().Produces<MeterResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404, 409);
        v1.MapGet("/meters", (HttpContext http, Api api, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, ListMeters.Execute))
            .Doc("listMeters", "List meters, newest first", tag)
            .Produces<ListResource<MeterResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapGet("/meters/{id}", (HttpContext http, Api api, string id) => api.Read(http, (s, t) => GetMeter.Execute(s, t, id)))
            .Doc("getMeter", "A meter", tag)
            .Produces<MeterResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/meters/{id}/usage", Usage)
            .Doc("getMeterUsage", "A meter's value per hour, day or month window, exact for any from/to (whole hours from hourly rollups, partial hours from raw events; tz=UTC)", tag)
            .Produces<GetMeterUsage.UsageResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400, 404);

        v1.MapPost("/meter_events", IngestOne)
            .Doc("ingestMeterEvent", "Record one usage event (deduplicated by id; a structured CloudEvent as application/cloudevents+json too); 202 once stored", tag)
            .Body<MeterEventInputDoc>().Produces<IngestMeterEvents.Response>(StatusCodes.Status202Accepted, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/meter_events/batch", IngestBatch)
            .Doc("ingestMeterEvents", "Record up to 1,000 usage events ({\"events\": [...]}, or a bare array as application/cloudevents-batch+json); invalid ones are listed in rejected, the rest stored; 202 once stored", tag)
            .Body<BatchRequest>().Produces<IngestMeterEvents.Response>(StatusCodes.Status202Accepted, ApiResponses.JsonContentType).Errors(400, 413);
        v1.MapGet("/meter_events", (HttpContext http, Api api, string? customer_id, string? event_name, string? from, string? to, string? limit,
                string? starting_after) =>
            {
                var (f, t) = (AuditEndpoints.ParseTime("from", from), AuditEndpoints.ParseTime("to", to));
                if (!f.IsOk || !t.IsOk) return ApiResponses.WriteError(http, (f.Error ?? t.Error)!);
                return EndpointConventions.ListPage(http, api, limit, starting_after,
                    (s, tenant, page) => ListMeterEvents.Execute(s, tenant, customer_id, event_name, f.Value, t.Value, page));
            })
            .Doc("listMeterEvents", "Raw events, newest first by timestamp (from inclusive, to exclusive)", tag)
            .Produces<ListResource<MeterEventResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
    }

    /// <summary>
    /// Bench-only twin of the batch route that stores each event in a transaction of its own (one insert
    /// per event, same validation and rollups): the baseline the ingest benchmark measures against.
    /// Mapped only when KASSA_BENCH_ROUTES=1.
    /// </summary>
    public static void MapBaseline(WebApplication app)
    {
        app.MapGroup("/v1/bench_baseline").ExcludeFromDescription().MapPost("/meter_events/batch",
            async (HttpContext http, Api api, IKassaStore store, TimeProvider time, Workers.WebhookSignal signal) =>
            {
                var body = await api.ReadBody<BatchRequest>(http);
                if (body?.Events is not { Count: <= MeterEventInput.BatchMax } events)
                {
                    if (body is not null) await ApiResponses.WriteError(http, KassaError.Validation("events", $"1 to {MeterEventInput.BatchMax} events"));
                    return;
                }
                var all = IngestMeterEvents.Prepare(events, time.GetUtcNow());
                var op = api.Operation(http);
                long accepted = 0, duplicates = all.RepeatedInBatch;
                foreach (var one in all.Events)
                {
                    var r = await store.WriteAsync(s => IngestMeterEvents.Execute(s, op, new IngestMeterEvents.Prepared([one], [], 0)), ct: CancellationToken.None);
                    accepted += r.Accepted;
                    duplicates += r.Duplicates;
                }
                signal.Poke();
                await ApiResponses.WriteJson(http, StatusCodes.Status202Accepted, new IngestMeterEvents.Response(accepted, duplicates, all.Rejected));
            });
    }

    /// <summary>
    /// The time each event of a request is checked against: real time, or the customer's test clock time
    /// for a customer on a clock (spec §11), so a clock's customers can send events of the clock's days.
    /// A tenant without clocks pays nothing (<see cref="ClockTimes"/> remembers it); one with clocks reads
    /// each distinct customer once per request, at most the batch's 1,000.
    /// </summary>
    private static async Task<Func<int, DateTimeOffset>> ReferenceTimesAsync(HttpContext http, ClockTimes clocks, IReadOnlyList<JsonElement> events,
        DateTimeOffset now)
    {
        var tenant = http.Principal().Tenant;
        if (tenant.Livemode || !await clocks.HasClocksAsync(tenant, http.RequestAborted)) return _ => now;
        var times = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var perEvent = new DateTimeOffset[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            perEvent[i] = now;
            if (IngestMeterEvents.CustomerIdOf(events[i]) is not { Length: > 0 } customerId) continue;
            if (!times.TryGetValue(customerId, out var at)) times[customerId] = at = (await clocks.ForAsync(tenant, customerId, now, http.RequestAborted)).Now;
            perEvent[i] = at;
        }
        return i => perEvent[i];
    }

    private static async Task IngestOne(HttpContext http, Api api, IngestQueue queue, TimeProvider time, Workers.WebhookSignal signal, ClockTimes clocks)
    {
        var read = await JsonBody.ReadBytesAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        JsonElement element;
        try
        {
            using var doc = JsonDocument.Parse(read.Value);
            element = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.MalformedJson, $"The body is not valid JSON: {e.Message}"));
            return;
        }
        var prepared = IngestMeterEvents.Prepare([element], await ReferenceTimesAsync(http, clocks, [element], time.GetUtcNow()));
        // One event: a refusal is the request's error, not an entry in a batch report.
        if (prepared.Rejected is [var only]) await ApiResponses.WriteError(http, new KassaError(ErrorCode(only.Code), only.Message));
        else await Store(http, api, queue, signal, prepared);
    }

    /// <summary>The CloudEvents JSON batch format's media type: the body is a bare array of structured events.</summary>
    public const string CloudEventsBatchContentType = "application/cloudevents-batch+json";

    private static bool IsCloudEventsBatch(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
        && media.MediaType.Equals(CloudEventsBatchContentType, StringComparison.OrdinalIgnoreCase);

    private static async Task IngestBatch(HttpContext http, Api api, IngestQueue queue, TimeProvider time, Workers.WebhookSignal signal, ClockTimes clocks)
    {
        var read = await JsonBody.ReadPooledAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        using var body = read.Value;
        // One document over the pooled body for the whole batch, not one per event: the events and their
        // properties point into it, so it stays open until the batch is stored (Store awaits the commit).
        JsonDocument? document = null;
        JsonException? malformed = null;
        try
        {
            document = JsonDocument.Parse(body.Memory);
        }
        catch (JsonException e)
        {
            malformed = e;
        }
        using var _ = document;
        // The wrapper object ({"events": [...]}), or a CloudEvents JSON batch (a bare array, as OpenMeter accepts).
        var events = IsCloudEventsBatch(http.Request) ? CloudEventsBatch(document, malformed) : WrappedBatch(document, body.Memory.Span);
        if (!events.IsOk)
        {
            await ApiResponses.WriteError(http, events.Error!);
            return;
        }
        if (events.Value.Count > MeterEventInput.BatchMax)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.PayloadTooLarge,
                $"A batch holds at most {MeterEventInput.BatchMax} events; this one has {events.Value.Count}", "events"));
            return;
        }
        await Store(http, api, queue, signal, IngestMeterEvents.Prepare(events.Value, await ReferenceTimesAsync(http, clocks, events.Value, time.GetUtcNow())));
    }

    /// <summary>
    /// The events of a <c>{"events": [...]}</c> body. The common shape (an object whose one member is that
    /// array) is read from the parsed document as it is; any other body goes through the request parser,
    /// which answers every mistake with its precise code (malformed_json, unknown_field, validation_failed).
    /// </summary>
    private static Result<IReadOnlyList<JsonElement>> WrappedBatch(JsonDocument? document, ReadOnlySpan<byte> body)
    {
        if (document?.RootElement is { ValueKind: JsonValueKind.Object } root && root.GetPropertyCount() == 1
            && root.TryGetProperty("events", out var array) && array.ValueKind == JsonValueKind.Array)
            return array.EnumerateArray().ToList();
        var parsed = JsonBody.Parse<BatchRequest>(body);
        if (!parsed.IsOk) return parsed.Error!;
        return parsed.Value.Events is { } events ? events : KassaError.Missing("events");
    }

    /// <summary>A CloudEvents batch body's events: the document's root array.</summary>
    private static Result<IReadOnlyList<JsonElement>> CloudEventsBatch(JsonDocument? document, JsonException? malformed)
    {
        if (document is null) return new KassaError(ErrorCodes.MalformedJson, $"The body is not valid JSON: {malformed!.Message}");
        if (document.RootElement.ValueKind == JsonValueKind.Array) return document.RootElement.EnumerateArray().ToList();
        return KassaError.Validation("events", $"a {CloudEventsBatchContentType} body is a JSON array of CloudEvents");
    }

    private static async Task Store(HttpContext http, Api api, IngestQueue queue, Workers.WebhookSignal signal, IngestMeterEvents.Prepared prepared)
    {
        var op = api.Operation(http);
        if (queue.TryEnqueue(op, prepared) is not { } done)
        {
            await ApiResponses.WriteRetryable(http, new KassaError(ErrorCodes.Overloaded,
                "Meter event ingestion is at capacity; retry after the time in Retry-After"), Api.OverloadRetryAfter);
            return;
        }
        // Not cancelled with the request: once queued, the batch commits or rolls back whole with its transaction.
        var response = await done;
        signal.Poke();
        await ApiResponses.WriteJson(http, StatusCodes.Status202Accepted, response);
    }

    private static string ErrorCode(string rejectionCode) => rejectionCode switch
    {
        MeterEventCodes.ParameterMissing => ErrorCodes.ParameterMissing,
        MeterEventCodes.UnknownField => ErrorCodes.UnknownField,
        // timestamp_out_of_range is a batch entry's code; as a request error it is a validation failure.
        _ => ErrorCodes.ValidationFailed,
    };

    private static Task Usage(HttpContext http, Api api, string id, string? customer_id, string? from, string? to, string? window, string? group_by, string? tz)
    {
        if (tz is not null && tz != "UTC") return ApiResponses.WriteError(http, KassaError.Validation("tz", "only UTC is supported: usage is kept per UTC hour"));
        var (f, t) = (AuditEndpoints.ParseTime("from", from), AuditEndpoints.ParseTime("to", to));
        if (!f.IsOk || !t.IsOk) return ApiResponses.WriteError(http, (f.Error ?? t.Error)!);
        UsageWindow? w = null;
        if (window is not null)
        {
            if (!UsageWindows.TryParse(window, out var parsed)) return ApiResponses.WriteError(http, KassaError.Validation("window", "must be hour, day or month"));
            w = parsed;
        }
        var groupBy = (group_by ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
        var query = GetMeterUsage.Validate(customer_id, f.Value, t.Value, w, groupBy);
        if (!query.IsOk) return ApiResponses.WriteError(http, query.Error!);
        return api.Read(http, (s, t) => GetMeterUsage.Execute(s, t, id, query.Value));
    }
}
