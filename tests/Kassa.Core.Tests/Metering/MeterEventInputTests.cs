using System.Text.Json;
using Kassa.Core.Metering;
using static Kassa.Core.Tests.Metering.MeteringTestJson;

namespace Kassa.Core.Tests.Metering;

public class MeterEventInputTests
{
    // Whole microseconds, so "exactly 35 days ago" is expressible in a timestamp.
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, 250, TimeSpan.Zero);

    private const string Base = "'id': 'evt-1', 'event_name': 'llm.call', 'customer_id': 'user_123'";

    private static NormalizedEvent Ok(string json, DateTimeOffset? now = null)
    {
        Assert.True(MeterEventInput.TryNormalize(J(json), now ?? Now, out var ev, out var error), $"{error.Code}: {error.Message}");
        Assert.Equal(default, error);
        return ev;
    }

    private static (string Code, string Message) Rejected(string json)
    {
        Assert.False(MeterEventInput.TryNormalize(J(json), Now, out var ev, out var error));
        Assert.Null(ev);
        return error;
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void A_minimal_event_gets_defaults()
    {
        var ev = Ok("{" + Base + "}", Now.AddTicks(7)); // sub-microsecond ticks are dropped
        Assert.Equal("evt-1", ev.Id);
        Assert.Equal("llm.call", ev.EventName);
        Assert.Equal("user_123", ev.CustomerId);
        Assert.Equal(Now, ev.Timestamp);
        Assert.Equal(TimeSpan.Zero, ev.Timestamp.Offset);
        Assert.Equal(JsonValueKind.Object, ev.Properties.ValueKind);
        Assert.Empty(ev.Properties.EnumerateObject());
        Assert.Equal("{}", ev.PropertiesJson);
    }

    [Fact]
    public void A_full_event_is_normalised()
    {
        var ev = Ok("{" + Base + ", 'timestamp': '2026-11-22T11:00:00.1234567+02:00', 'properties': { 'tokens' : 1.50, 'model': 'gpt-4o', 'usage': {'in': [1, 2]}, 'note': 'café' }}");
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero).AddTicks(1_234_560), ev.Timestamp);
        Assert.Equal("{\"tokens\":1.50,\"model\":\"gpt-4o\",\"usage\":{\"in\":[1,2]},\"note\":\"café\"}", ev.PropertiesJson);
        Assert.Equal("gpt-4o", ev.Properties.GetProperty("model").GetString());
    }

    [Fact]
    public void Properties_read_as_the_stored_text_does_and_live_in_the_request_document()
    {
        var document = JsonDocument.Parse("""{"id": "e", "event_name": "n", "customer_id": "c", "properties": { "note": "caf\u00e9", "tokens" : 1.50, "in": [1, 2] }}""");
        Assert.True(MeterEventInput.TryNormalize(document.RootElement, Now, out var ev, out _));
        Assert.Equal("{\"note\":\"café\",\"tokens\":1.50,\"in\":[1,2]}", ev.PropertiesJson);
        // What meters read at ingest (the element) is what the roller reads back from the stored text.
        using var stored = JsonDocument.Parse(ev.PropertiesJson);
        Assert.True(JsonElement.DeepEquals(stored.RootElement, ev.Properties));
        Assert.Equal(("1.50", "1.50"), (stored.RootElement.GetProperty("tokens").GetRawText(), ev.Properties.GetProperty("tokens").GetRawText()));
        Assert.Equal("café", ev.Properties.GetProperty("note").GetString());
        // The element is the request's, not a copy: the caller keeps the document open while it uses the event.
        document.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ev.Properties.GetProperty("note"));
    }

    [Fact]
    public void A_large_event_after_small_ones_is_written_whole_by_the_reused_writer()
    {
        var big = string.Concat(Enumerable.Repeat("x", 10_000));
        var small = Ok("{" + Base + ", 'properties': {'a': 1}}");
        var large = Ok("{" + Base + ", 'properties': {'big': '" + big + "'}}");
        var after = Ok("{" + Base + ", 'properties': {'b': 2}}");
        Assert.Equal(("{\"a\":1}", "{\"big\":\"" + big + "\"}", "{\"b\":2}"), (small.PropertiesJson, large.PropertiesJson, after.PropertiesJson));
    }

    [Fact]
    public void CloudEvents_names_are_aliases_and_envelope_fields_are_ignored()
    {
        var ev = Ok("{'specversion': '1.0', 'source': '/api', 'datacontenttype': 'application/json', 'id': 'ce-1', 'type': 'llm.call', 'subject': 'user_9', 'time': '2026-11-22T09:00:00Z', 'data': {'tokens': 3}}");
        Assert.Equal(("ce-1", "llm.call", "user_9"), (ev.Id, ev.EventName, ev.CustomerId));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero), ev.Timestamp);
        Assert.Equal("{\"tokens\":3}", ev.PropertiesJson);
    }

    [Theory]
    [InlineData("{'id': 'i', 'event_name': 'a', 'type': 'a', 'customer_id': 'c'}", "give either 'event_name' or 'type', not both (one is an alias of the other)")]
    [InlineData("{'id': 'i', 'event_name': 'e', 'subject': 'c', 'customer_id': 'c'}", "give either 'subject' or 'customer_id', not both (one is an alias of the other)")]
    [InlineData("{'id': 'i', 'event_name': 'e', 'customer_id': 'c', 'timestamp': '2026-11-22T09:00:00Z', 'time': '2026-11-22T09:00:00Z'}", "give either 'timestamp' or 'time', not both (one is an alias of the other)")]
    [InlineData("{'id': 'i', 'event_name': 'e', 'customer_id': 'c', 'properties': {}, 'data': {}}", "give either 'properties' or 'data', not both (one is an alias of the other)")]
    [InlineData("{'id': 'a', 'id': 'b', 'event_name': 'e', 'customer_id': 'c'}", "field 'id' appears more than once")]
    [InlineData("{'id': 'a', 'event_name': 'e', 'customer_id': 'c', 'data': {}, 'data': {}}", "field 'data' appears more than once")]
    // A field name is matched with its escapes resolved; one that is not valid Unicode is refused as such.
    [InlineData("{'id': 'a', '\\u0069d': 'b', 'event_name': 'e', 'customer_id': 'c'}", "field 'id' appears more than once")]
    [InlineData("{'\\ud800': 1, 'id': 'a', 'event_name': 'e', 'customer_id': 'c'}", "field names must be valid Unicode text")]
    public void A_name_and_its_alias_or_a_repeated_field_are_refused(string json, string message) =>
        Assert.Equal(("validation_failed", message), Rejected(json));

    [Theory]
    [InlineData("'Id': 'x'", "unknown field 'Id'")]
    [InlineData("'eventName': 'x'", "unknown field 'eventName'")]
    [InlineData("'dataschema': 'x'", "unknown field 'dataschema'")]
    [InlineData("'value': 1", "unknown field 'value'")]
    public void Unknown_fields_are_refused(string field, string message) =>
        Assert.Equal(("unknown_field", message), Rejected("{" + Base + ", " + field + "}"));

    [Theory]
    [InlineData("[]")]
    [InlineData("'evt'")]
    [InlineData("null")]
    [InlineData("42")]
    public void An_event_must_be_an_object(string json) =>
        Assert.Equal(("validation_failed", "an event must be a JSON object"), Rejected(json));

    [Theory]
    [InlineData("{'event_name': 'e', 'customer_id': 'c'}", "id is required")]
    [InlineData("{'id': null, 'event_name': 'e', 'customer_id': 'c'}", "id is required")]
    [InlineData("{'id': 'i', 'customer_id': 'c'}", "event_name is required")]
    [InlineData("{'id': 'i', 'type': null, 'customer_id': 'c'}", "type is required")]
    [InlineData("{'id': 'i', 'event_name': 'e'}", "customer_id is required")]
    [InlineData("{'id': 'i', 'event_name': 'e', 'subject': null}", "subject is required")]
    [InlineData("{}", "id is required")]
    public void Missing_required_fields_are_parameter_missing(string json, string message) =>
        Assert.Equal(("parameter_missing", message), Rejected(json));

    [Theory]
    [InlineData("'id': 7, 'event_name': 'e', 'customer_id': 'c'", "id must be a string")]
    [InlineData("'id': '', 'event_name': 'e', 'customer_id': 'c'", "id must be 1 to 255 characters of valid Unicode text without NUL characters")]
    [InlineData("'id': 'a\\u0000b', 'event_name': 'e', 'customer_id': 'c'", "id must be 1 to 255 characters of valid Unicode text without NUL characters")]
    [InlineData("'id': '\\ud800', 'event_name': 'e', 'customer_id': 'c'", "id must be valid Unicode text")]
    [InlineData("'id': 'i', 'event_name': '', 'customer_id': 'c'", "event_name must not be empty")]
    [InlineData("'id': 'i', 'type': true, 'customer_id': 'c'", "type must be a string")]
    [InlineData("'id': 'i', 'event_name': 'a\\nb', 'customer_id': 'c'", "event_name must not contain control characters")]
    [InlineData("'id': 'i', 'event_name': 'e', 'customer_id': 'a b'", "customer_id may contain only letters, digits and _ . : @ -")]
    [InlineData("'id': 'i', 'event_name': 'e', 'customer_id': ''", "customer_id must not be empty")]
    [InlineData("'id': 'i', 'event_name': 'e', 'subject': 123", "subject must be a string")]
    public void Invalid_fields_are_validation_failed(string fields, string message) =>
        Assert.Equal(("validation_failed", message), Rejected("{" + fields + "}"));

    [Fact]
    public void Length_limits_are_inclusive()
    {
        Assert.Equal(new string('i', 255), Ok($"{{'id': '{new string('i', 255)}', 'event_name': 'e', 'customer_id': 'c'}}").Id);
        Assert.Equal(
            ("validation_failed", "id must be 1 to 255 characters of valid Unicode text without NUL characters"),
            Rejected($"{{'id': '{new string('i', 256)}', 'event_name': 'e', 'customer_id': 'c'}}"));
        Assert.Equal(new string('e', 200), Ok($"{{'id': 'i', 'event_name': '{new string('e', 200)}', 'customer_id': 'c'}}").EventName);
        Assert.Equal(
            ("validation_failed", "event_name must be at most 200 characters"),
            Rejected($"{{'id': 'i', 'event_name': '{new string('e', 201)}', 'customer_id': 'c'}}"));
        Assert.Equal(
            ("validation_failed", "customer_id must be at most 128 characters"),
            Rejected($"{{'id': 'i', 'event_name': 'e', 'customer_id': '{new string('c', 129)}'}}"));
    }

    [Fact]
    public void Timestamps_from_35_days_ago_to_5_minutes_ahead_are_accepted()
    {
        var oldest = Now - MeterEventInput.DedupeWindow;
        var newest = Now + MeterEventInput.FutureSkew;
        Assert.Equal(oldest, Ok("{" + Base + $", 'timestamp': '{Stamp(oldest)}'}}").Timestamp);
        Assert.Equal(newest, Ok("{" + Base + $", 'timestamp': '{Stamp(newest)}'}}").Timestamp);
        var outOfRange = ("timestamp_out_of_range", "timestamp must be at most 35 days in the past and at most 5 minutes in the future");
        Assert.Equal(outOfRange, Rejected("{" + Base + $", 'timestamp': '{Stamp(oldest.AddMicroseconds(-1))}'}}"));
        Assert.Equal(outOfRange, Rejected("{" + Base + $", 'timestamp': '{Stamp(newest.AddMicroseconds(1))}'}}"));
        Assert.Equal(
            ("timestamp_out_of_range", "time must be at most 35 days in the past and at most 5 minutes in the future"),
            Rejected("{'id': 'i', 'type': 'e', 'subject': 'c', 'time': '2020-01-01T00:00:00Z'}"));
    }

    [Fact]
    public void Timestamps_are_truncated_to_microseconds_after_the_range_check()
    {
        Assert.Equal(Now.AddTicks(1_234_560), Ok("{" + Base + ", 'timestamp': '2026-11-22T10:00:00.373456789Z'}").Timestamp);
        // 100 ns (one tick) past the newest accepted instant is out of range, although it would
        // truncate to that instant; digits below a tick are dropped when parsing.
        Assert.Equal(Now + MeterEventInput.FutureSkew, Ok("{" + Base + ", 'timestamp': '2026-11-22T10:05:00.250000099Z'}").Timestamp);
        Assert.Equal("timestamp_out_of_range", Rejected("{" + Base + ", 'timestamp': '2026-11-22T10:05:00.2500001Z'}").Code);
    }

    [Theory]
    [InlineData("'2026-11-22T10:00:00'")] // local time without an offset
    [InlineData("'2026-11-22'")]
    [InlineData("'yesterday'")]
    [InlineData("1763805600")]
    [InlineData("null")]
    public void Timestamps_must_be_rfc_3339_strings_with_an_offset(string value) =>
        Assert.Equal(
            ("validation_failed", "timestamp must be an RFC 3339 timestamp with an offset, such as 2026-11-22T10:00:00Z"),
            Rejected("{" + Base + ", 'timestamp': " + value + "}"));

    [Theory]
    [InlineData("null", "properties must be a JSON object")]
    [InlineData("[]", "properties must be a JSON object")]
    [InlineData("'x'", "properties must be a JSON object")]
    [InlineData("3", "properties must be a JSON object")]
    [InlineData("{'a': 'x\\u0000'}", "properties must contain only valid Unicode text without NUL characters")]
    [InlineData("{'a': ['\\udc00']}", "properties must contain only valid Unicode text without NUL characters")]
    [InlineData("{'a\\u0000': 1}", "properties must contain only valid Unicode text without NUL characters")]
    [InlineData("{'a': 1, 'b': {'c': 1, 'c': 2}}", "properties has the key 'c' more than once")]
    // The same name spelled with an escape, and a repeat in an object too large to compare pairwise.
    [InlineData("{'a': 1, '\\u0061': 2}", "properties has the key 'a' more than once")]
    [InlineData("{'k1': 1, 'k2': 1, 'k3': 1, 'k4': 1, 'k5': 1, 'k6': 1, 'k7': 1, 'k8': 1, 'k9': 1, 'k10': 1, 'k11': 1, 'k12': 1, 'k13': 1, 'k14': 1, 'k15': 1, 'k16': 1, 'k3': 2}",
        "properties has the key 'k3' more than once")]
    [InlineData("{'k1': 1, 'k2': 1, 'k3': 1, 'k4': 1, 'k5': 1, 'k6': 1, 'k7': 1, 'k8': 1, 'k9': 1, 'k10': 1, 'k11': 1, 'k12': 1, 'k13': 1, 'k14': 1, 'k15': 1, 'k16': {'x': '\\ud800'}}",
        "properties must contain only valid Unicode text without NUL characters")]
    public void Properties_must_be_a_storable_object(string value, string message) =>
        Assert.Equal(("validation_failed", message), Rejected("{" + Base + ", 'properties': " + value + "}"));

    [Fact]
    public void Properties_nest_at_most_16_levels()
    {
        static string Nest(int levels) => levels == 1 ? "{'a': [1]}" : "{'a': " + Nest(levels - 1) + "}";
        static string NestArrays(int levels) => levels == 1 ? "1" : "[" + NestArrays(levels - 1) + "]";
        Ok("{" + Base + ", 'properties': " + Nest(15) + "}"); // 15 objects and the array: 16 levels
        Assert.Equal(("validation_failed", "properties may nest at most 16 levels deep"), Rejected("{" + Base + ", 'properties': " + Nest(16) + "}"));
        Ok("{" + Base + ", 'properties': {'a': " + NestArrays(16) + "}}"); // 15 arrays below the object
        Assert.Equal(("validation_failed", "data may nest at most 16 levels deep"),
            Rejected("{'id': 'i', 'type': 'e', 'subject': 'c', 'data': {'a': " + NestArrays(17) + "}}"));
    }

    [Fact]
    public void Properties_are_at_most_64_KiB_of_compact_json()
    {
        // {"s":"…"} is 8 bytes around the string; whitespace in the request does not count.
        var fits = "{" + Base + ", 'properties': {  's' :  '" + new string('x', 65_536 - 8) + "'  }}";
        Assert.Equal(65_536, System.Text.Encoding.UTF8.GetByteCount(Ok(fits).PropertiesJson));
        var tooBig = "{" + Base + ", 'properties': {'s': '" + new string('x', 65_536 - 7) + "'}}";
        Assert.Equal(("validation_failed", "properties must be at most 65536 bytes as compact JSON"), Rejected(tooBig));
        // Non-ASCII text counts in UTF-8 bytes, unescaped: 'é' is 2 bytes.
        var accents = "{" + Base + ", 'properties': {'s': '" + new string('é', (65_536 - 8) / 2) + "'}}";
        Assert.Equal(65_536, System.Text.Encoding.UTF8.GetByteCount(Ok(accents).PropertiesJson));
    }

    [Fact]
    public void Limits_are_as_documented()
    {
        Assert.Equal(1000, MeterEventInput.BatchMax);
        Assert.Equal(TimeSpan.FromDays(35), MeterEventInput.DedupeWindow);
        Assert.Equal(TimeSpan.FromMinutes(5), MeterEventInput.FutureSkew);
        Assert.Equal("timestamp_out_of_range", MeterEventCodes.TimestampOutOfRange);
        Assert.Equal(["parameter_missing", "validation_failed", "unknown_field"], new[] { MeterEventCodes.ParameterMissing, MeterEventCodes.ValidationFailed, MeterEventCodes.UnknownField });
    }
}
