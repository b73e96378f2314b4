using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §6: meters, ingestion with dedupe, rollups equal to the raw events, usage queries. Both engines.</summary>
public abstract class MeteringTests(KassaHost host)
{
    private static string Slug(string p) => $"{p}_{Guid.NewGuid():N}"[..(p.Length + 11)];
    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The start of the hour two days before now: every test event lands after it and within the accepted range.</summary>
    /// <summary>
    /// 10:00 UTC two days ago: the tests place events up to a few hours after it and read day windows, which
    /// must not cross midnight whatever the hour the suite runs at (the current hour made the day-window
    /// assertions fail when the suite ran after 21:40 UTC).
    /// </summary>
    private DateTimeOffset Base()
    {
        var day = host.Clock.GetUtcNow().AddDays(-2);
        return new DateTimeOffset(day.Year, day.Month, day.Day, 10, 0, 0, TimeSpan.Zero);
    }

    private async Task<string> Meter(string eventName, string aggregation, string? valueProperty = null, string[]? groupBy = null, object? filter = null,
        string? featureId = null)
    {
        var id = Slug("m");
        var r = await host.Client().Post("/v1/meters", new
        {
            id, name = "M", event_name = eventName, aggregation, value_property = valueProperty, group_by = groupBy, filter, feature_id = featureId,
        });
        Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
        return id;
    }

    private async Task<JsonNode> Send(params object[] events)
    {
        var r = await host.Client().Post("/v1/meter_events/batch", new { events });
        Assert.True(r.Status == HttpStatusCode.Accepted, r.Body?.ToJsonString());
        return r.Body!;
    }

    private static object Event(string id, string name, string customer, DateTimeOffset at, object? properties = null) =>
        new { id, event_name = name, customer_id = customer, timestamp = Iso(at), properties };

    private async Task<JsonArray> Usage(string meter, DateTimeOffset from, DateTimeOffset to, string? window = null, string? customer = null, string? groupBy = null)
    {
        var q = $"/v1/meters/{meter}/usage?from={Iso(from)[..19]}Z&to={Iso(to)[..19]}Z" + (window is null ? "" : $"&window={window}") +
                (customer is null ? "" : $"&customer_id={customer}") + (groupBy is null ? "" : $"&group_by={groupBy}");
        var r = await host.Client().Get(q);
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        return r.Body!["data"]!.AsArray();
    }

    private static (string Start, decimal Value, string Group)[] Rows(JsonArray data) =>
        data.Select(d => ((string)d!["window_start"]!, (decimal)d["value"]!, d["group"]!.ToJsonString())).ToArray();

    [Fact]
    public async Task Each_aggregation_is_exact_per_hour_day_and_month()
    {
        var name = Slug("llm");
        var b = Base();
        var sum = await Meter(name, "sum", "usage.tokens", ["model"]);
        var count = await Meter(name, "count");
        var max = await Meter(name, "max", "usage.tokens");
        var min = await Meter(name, "min", "usage.tokens");
        var latest = await Meter(name, "latest", "usage.tokens");
        var users = await Meter(name, "unique_count", "user");
        var onlyA = await Meter(name, "count", filter: new { model = "a" });
        var c = Wire.NewId();
        var ack = await Send(
            Event("e1", name, c, b.AddMinutes(5), new { model = "a", user = "u1", usage = new { tokens = 10 } }),
            Event("e2", name, c, b.AddMinutes(50), new { model = "b", user = "u2", usage = new { tokens = "2.5" } }),
            Event("e3", name, c, b.AddHours(1).AddMinutes(1), new { model = "a", user = "u1", usage = new { tokens = 7 } }),
            // Later in the day but an earlier timestamp than e5 arrives first: latest goes by event time.
            Event("e5", name, c, b.AddHours(3), new { model = "a", user = "u3", usage = new { tokens = 1 } }),
            Event("e4", name, c, b.AddHours(2), new { model = "b", user = "u1", usage = new { tokens = -4 } }));
        Assert.Equal(5, (int)ack["accepted"]!);
        var to = b.AddHours(4);

        Assert.Equal(new[] { (Iso(b)[..19] + "Z", 10m, "{\"model\":\"a\"}"), (Iso(b)[..19] + "Z", 2.5m, "{\"model\":\"b\"}"),
                (Iso(b.AddHours(1))[..19] + "Z", 7m, "{\"model\":\"a\"}"), (Iso(b.AddHours(2))[..19] + "Z", -4m, "{\"model\":\"b\"}"),
                (Iso(b.AddHours(3))[..19] + "Z", 1m, "{\"model\":\"a\"}") },
            Rows(await Usage(sum, b, to, "hour", c, "model")));
        // Without window: one row for the whole range, groups merged.
        Assert.Equal(16.5m, (decimal)(await Usage(sum, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(5m, (decimal)(await Usage(count, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(10m, (decimal)(await Usage(max, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(-4m, (decimal)(await Usage(min, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(1m, (decimal)(await Usage(latest, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(3m, (decimal)(await Usage(users, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(3m, (decimal)(await Usage(onlyA, b, to, customer: c))[0]!["value"]!);
        // Hour windows of unique_count count per hour: u1 and u2 in the first hour.
        Assert.Equal(new[] { 2m, 1m, 1m, 1m }, (await Usage(users, b, to, "hour", c)).Select(d => (decimal)d!["value"]!).ToArray());
        // A day window is clipped to the range asked for.
        var day = await Usage(sum, b, to, "day", c);
        Assert.Equal(Iso(b)[..19] + "Z", (string)day[0]!["window_start"]!);
        Assert.Equal(16.5m, day.Sum(d => (decimal)d!["value"]!));
        // The database sums hours into days per group; the groups stay apart.
        var byModel = (await Usage(sum, b, to, "day", c, "model")).GroupBy(d => d!["group"]!.ToJsonString())
            .ToDictionary(g => g.Key, g => g.Sum(d => (decimal)d!["value"]!));
        Assert.Equal(new Dictionary<string, decimal> { ["{\"model\":\"a\"}"] = 18m, ["{\"model\":\"b\"}"] = -1.5m }, byModel);
        // A range that starts after the first hour leaves it out.
        Assert.Equal(3m, (decimal)(await Usage(count, b.AddHours(1), to, "month", c))[0]!["value"]!);
        // Another customer's events are not in this one's usage; without customer_id all customers count.
        await Send(Event("other", name, Wire.NewId(), b.AddMinutes(1), new { model = "a", user = "u9", usage = new { tokens = 100 } }));
        Assert.Equal(16.5m, (decimal)(await Usage(sum, b, to, customer: c))[0]!["value"]!);
        Assert.Equal(116.5m, (decimal)(await Usage(sum, b, to))[0]!["value"]!);
    }

    [Fact]
    public async Task Batches_sharing_one_transaction_are_answered_as_if_sent_one_after_another()
    {
        // Group commit puts concurrent requests into one transaction; each keeps its own answer, an id two of
        // them carry is stored for the first and a duplicate for the second, and another tenant's same id is its own.
        var name = Slug("gc");
        var meter = await Meter(name, "sum", "n");
        var c = Wire.NewId();
        var now = host.Clock.GetUtcNow();
        var id = Slug("ev");
        var other = await host.NewAccountAsync();
        var mine = new Kassa.Engine.Common.Tenant(host.Account.AccountId, false);
        Kassa.Engine.Metering.IngestMeterEvents.Prepared Prepare(params object[] events) =>
            Kassa.Engine.Metering.IngestMeterEvents.Prepare(events.Select(e => System.Text.Json.JsonSerializer.SerializeToElement(e)).ToList(), now);
        Kassa.Engine.Common.OperationContext Op(Kassa.Engine.Common.Tenant t) => new(t, Kassa.Engine.Common.Actor.System, Slug("req"), now);
        var answers = await host.Store.WriteAsync(s => Kassa.Engine.Metering.IngestMeterEvents.ExecuteMany(s,
        [
            (Op(mine), Prepare(Event(id + "1", name, c, now, new { n = 1 }), Event(id + "2", name, c, now, new { n = 2 }))),
            (Op(new(other.AccountId, false)), Prepare(Event(id + "2", name, c, now, new { n = 20 }))),
            (Op(mine), Prepare(Event(id + "2", name, c, now, new { n = 2 }), Event(id + "3", name, c, now, new { n = 4 }), Event(id + "4", name, c, now, new { m = 0 }))),
        ]));
        Assert.Equal(new[] { (2L, 0L, 0), (1L, 0L, 0), (1L, 1L, 1) }, answers.Select(a => (a.Accepted, a.Duplicates, a.Rejected.Count)).ToArray());
        Assert.Equal(2, answers[2].Rejected[0].Index);
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        // 1 + 2 + 4: the repeated id 2 once, the other tenant's 20 not at all (it has no such meter either).
        Assert.Equal(7m, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: c))[0]!["value"]!);
    }

    [Fact]
    public async Task Usage_is_exact_for_bounds_inside_hours_with_partial_hours_read_from_raw_events()
    {
        var name = Slug("period");
        var b = Base();
        var sum = await Meter(name, "sum", "tokens", ["model"]);
        var count = await Meter(name, "count");
        var max = await Meter(name, "max", "tokens");
        var latest = await Meter(name, "latest", "tokens");
        var unique = await Meter(name, "unique_count", "user");
        var c = Wire.NewId();
        // 10:05 (before from), 10:40, 11:30, 12:10, 12:20 (at to: excluded, to is exclusive), 12:50.
        await Send(
            Event(Slug("e"), name, c, b.AddMinutes(5), new { tokens = 1000, model = "a", user = "u1" }),
            Event(Slug("e"), name, c, b.AddMinutes(40), new { tokens = 7, model = "a", user = "u1" }),
            Event(Slug("e"), name, c, b.AddMinutes(90), new { tokens = 30, model = "b", user = "u2" }),
            Event(Slug("e"), name, c, b.AddMinutes(130), new { tokens = 500, model = "a", user = "u3" }),
            Event(Slug("e"), name, c, b.AddMinutes(140), new { tokens = 9000, model = "b", user = "u4" }),
            Event(Slug("e"), name, c, b.AddMinutes(170), new { tokens = 80000, model = "a", user = "u5" }));
        // A billing period from 10:17:42 to 12:20:00.
        var from = b.AddMinutes(17).AddSeconds(42);
        var to = b.AddMinutes(140);
        decimal Total(JsonArray rows) => rows.Sum(r => (decimal)r!["value"]!);
        Assert.Equal(537m, Total(await Usage(sum, from, to, customer: c)));
        Assert.Equal(3m, Total(await Usage(count, from, to, customer: c)));
        Assert.Equal(500m, Total(await Usage(max, from, to, customer: c)));
        Assert.Equal(500m, Total(await Usage(latest, from, to, customer: c)));
        Assert.Equal(3m, Total(await Usage(unique, from, to, customer: c)));
        // Per hour, clipped to the bounds: [10:17:42, 11:00) 7, [11:00, 12:00) 30, [12:00, 12:20) 500.
        Assert.Equal([(Iso(from)[..19], 7m), (Iso(b.AddHours(1))[..19], 30m), (Iso(b.AddHours(2))[..19], 500m)],
            (await Usage(sum, from, to, "hour", c)).Select(r => (((string)r!["window_start"]!)[..19], (decimal)r["value"]!)).ToArray());
        // By group, one day window: model a = 7 + 500, model b = 30.
        Assert.Equal([("{\"model\":\"a\"}", 507m), ("{\"model\":\"b\"}", 30m)],
            (await Usage(sum, from, to, "day", c, "model")).Select(r => (r!["group"]!.ToJsonString(), (decimal)r["value"]!)).OrderBy(x => x.Item1).ToArray());
        // A range inside one hour reads raw events alone: [10:30, 10:50) holds the 10:40 event.
        Assert.Equal(7m, Total(await Usage(sum, b.AddMinutes(30), b.AddMinutes(50), customer: c)));
        // The same totals as whole hours give where the bounds are whole hours (rollups alone).
        Assert.Equal(1037m, Total(await Usage(sum, b, b.AddHours(2), customer: c)));
    }

    [Fact]
    public async Task The_ingest_queue_refuses_past_its_capacity_and_answers_every_queued_batch_after_its_commit()
    {
        // A queue of our own (the host's store starts with the first request), not running yet: what waits is
        // bounded, and the first refusal comes at capacity + 1.
        var name = Slug("q");
        var meter = await Meter(name, "count");
        var queue = new Kassa.Engine.Metering.IngestQueue(host.Store, host.Clock, new Kassa.Engine.Common.GroupCommitFaults());
        var c = Wire.NewId();
        var now = host.Clock.GetUtcNow();
        var op = new Kassa.Engine.Common.OperationContext(new(host.Account.AccountId, false), Kassa.Engine.Common.Actor.System, Slug("req"), now);
        var id = Slug("ev");
        var waiting = Enumerable.Range(0, Kassa.Engine.Metering.IngestQueue.QueueCapacity)
            .Select(i => queue.TryEnqueue(op, Kassa.Engine.Metering.IngestMeterEvents.Prepare(
                [System.Text.Json.JsonSerializer.SerializeToElement(Event($"{id}{i % 100}", name, c, now, new { }))], now)))
            .ToList();
        Assert.All(waiting, t => Assert.NotNull(t));
        Assert.Null(queue.TryEnqueue(op, Kassa.Engine.Metering.IngestMeterEvents.Prepare([], now)));
        Assert.All(waiting, t => Assert.False(t!.IsCompleted));

        using var stop = new CancellationTokenSource();
        var loop = queue.RunAsync(stop.Token);
        var answers = await Task.WhenAll(waiting!);
        // 100 distinct ids over 256 requests: each stored once, every other request a duplicate, in queue order.
        Assert.Equal(100, answers.Sum(a => a.Accepted));
        Assert.Equal(156, answers.Sum(a => a.Duplicates));
        Assert.All(answers.Take(100), a => Assert.Equal(1, a.Accepted));
        // All 256 (256 events, under the 8,000 per commit) were waiting when the loops started: each loop takes
        // what it finds in one transaction, so at most one commit per loop.
        Assert.InRange(queue.Commits, 1, queue.Writers);
        Assert.Equal(Kassa.Engine.Metering.IngestQueue.QueueCapacity, queue.Requests);
        stop.Cancel();
        await loop;
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        Assert.Equal(100m, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: c))[0]!["value"]!);
    }

    [Fact]
    public async Task A_sum_past_64_bit_micro_units_is_stored_and_its_hour_answers_quantity_overflow_before_and_after_the_roll()
    {
        var name = Slug("big");
        var meter = await Meter(name, "sum", "n");
        var c = Wire.NewId();
        var other = Wire.NewId();
        var now = host.Clock.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var id = Slug("ev");
        const long most = 9_000_000_000_000; // the largest value one event may carry (9e18 micro-units)
        Assert.Equal(1, (int)(await Send(Event(id + "1", name, c, now, new { n = most })))["accepted"]!);
        Assert.Equal(1, (int)(await Send(Event(id + "x", name, other, now, new { n = 5 })))["accepted"]!);
        Assert.Equal(9_000_000_000_000m, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: c))[0]!["value"]!);
        // Ingest no longer reads the cells (ADR 0006): the events are stored; the hour has no 64-bit total.
        Assert.Equal(2, (int)(await Send(Event(id + "2", name, c, now, new { n = most }), Event(id + "3", name, c, now, new { n = 1 })))["accepted"]!);
        var q = $"/v1/meters/{meter}/usage?from={Iso(hour)[..19]}Z&to={Iso(hour.AddHours(1))[..19]}Z&customer_id={c}";
        (await host.Client().Get(q)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        // Rolled, the cell is marked overflowed (the roll itself does not fail): the same answer, and other cells are unharmed.
        while ((await host.Store.WriteRollupsAsync(s => Kassa.Engine.Metering.RollMeterEvents.Execute(s, host.Clock.GetUtcNow()))).Full) { }
        await host.Store.WriteRollupsAsync(s => Kassa.Engine.Metering.RollMeterEvents.Execute(s, host.Clock.GetUtcNow()));
        (await host.Client().Get(q)).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "quantity_overflow");
        Assert.Equal(5m, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: other))[0]!["value"]!);
        var raw = (await host.Client().Get($"/v1/meter_events?customer_id={c}")).Body!["data"]!.AsArray();
        Assert.Equal(new[] { id + "1", id + "2", id + "3" }, raw.Select(e => (string)e!["id"]!).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task A_batch_with_good_duplicate_and_invalid_events_stores_the_good_ones_once()
    {
        var name = Slug("mix");
        var meter = await Meter(name, "sum", "n");
        var c = Wire.NewId();
        var now = host.Clock.GetUtcNow();
        var id = Slug("ev");
        var first = await Send(Event(id + "1", name, c, now, new { n = 1 }));
        Assert.Equal((1, 0), ((int)first["accepted"]!, (int)first["duplicates"]!));
        var r = await Send(
            Event(id + "1", name, c, now, new { n = 1 }),                       // 0: stored before → duplicate
            Event(id + "2", name, c, now, new { n = 2 }),                       // 1: good
            Event(id + "2", name, c, now, new { n = 2 }),                       // 2: repeated in the batch → duplicate
            new { event_name = name, customer_id = c },                        // 3: no id
            Event(id + "3", name, c, now.AddDays(-36), new { n = 3 }),          // 4: too old
            Event(id + "4", name, c, now.AddMinutes(6), new { n = 4 }),         // 5: too far ahead
            new { id = id + "5", event_name = name, customer_id = c, color = "red" }, // 6: unknown field
            Event(id + "6", name, c, now, new { m = 6 }),                       // 7: the meter cannot read its value
            new { id = id + "7", type = name, subject = c, time = Iso(now), data = new { n = 7 } }); // 8: CloudEvents aliases
        Assert.Equal(2, (int)r["accepted"]!);
        Assert.Equal(2, (int)r["duplicates"]!);
        Assert.Equal(new[] { (3, "parameter_missing"), (4, "timestamp_out_of_range"), (5, "timestamp_out_of_range"), (6, "unknown_field"), (7, "validation_failed") },
            r["rejected"]!.AsArray().Select(x => ((int)x!["index"]!, (string)x["code"]!)).ToArray());
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        Assert.Equal(10m, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: c))[0]!["value"]!);
        var raw = (await host.Client().Get($"/v1/meter_events?customer_id={c}")).Body!["data"]!.AsArray();
        Assert.Equal(new[] { id + "1", id + "2", id + "7" }, raw.Select(e => (string)e!["id"]!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(7, (int)raw.Single(e => (string)e!["id"]! == id + "7")!["properties"]!["n"]!);

        (await host.Client().Post("/v1/meter_events/batch", new { events = Enumerable.Range(0, 1001).Select(i => Event($"x{i}", name, c, now)).ToArray() }))
            .AssertError(HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "payload_too_large");
        (await host.Client().Post("/v1/meter_events/batch", new { })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "events");
        // One event: a refusal is the request's error.
        (await host.Client().Post("/v1/meter_events", new { id = "x", event_name = name })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing");
        var single = await host.Client().Post("/v1/meter_events", Event(id + "8", name, c, now, new { n = 8 }));
        Assert.Equal(HttpStatusCode.Accepted, single.Status);
        Assert.Equal(1, (int)single.Body!["accepted"]!);
        Assert.Equal(1, (int)(await host.Client().Post("/v1/meter_events", Event(id + "8", name, c, now, new { n = 8 }))).Body!["duplicates"]!);
    }

    [Fact]
    public async Task A_batch_body_is_read_once_and_a_bad_event_in_it_is_refused_alone()
    {
        var name = Slug("body");
        await Meter(name, "count");
        var c = Wire.NewId();
        var at = Iso(host.Clock.GetUtcNow());
        var id = Slug("b");
        // An event with a repeated field, one with a repeated property spelled with an escape, and a good one
        // with an escaped field name: the two bad ones are refused on their own, as any other bad event.
        var body = $$$"""
            {"events": [
              {"id": "{{{id}}}1", "id": "{{{id}}}x", "event_name": "{{{name}}}", "customer_id": "{{{c}}}", "timestamp": "{{{at}}}"},
              {"id": "{{{id}}}2", "event_name": "{{{name}}}", "customer_id": "{{{c}}}", "timestamp": "{{{at}}}", "properties": {"a": 1, "\u0061": 2}},
              {"\u0069d": "{{{id}}}3", "event_name": "{{{name}}}", "customer_id": "{{{c}}}", "timestamp": "{{{at}}}", "properties": {"note": "caf\u00e9"}}
            ]}
            """;
        var r = await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: body);
        Assert.True(r.Status == HttpStatusCode.Accepted, r.Body?.ToJsonString());
        Assert.Equal((1, 0), ((int)r.Body!["accepted"]!, (int)r.Body["duplicates"]!));
        Assert.Equal(new[] { (0, "validation_failed", "field 'id' appears more than once"), (1, "validation_failed", "properties has the key 'a' more than once") },
            r.Body["rejected"]!.AsArray().Select(x => ((int)x!["index"]!, (string)x["code"]!, (string)x["message"]!)).ToArray());
        var stored = (await host.Client().Get($"/v1/meter_events?customer_id={c}")).Body!["data"]!.AsArray();
        Assert.Equal((id + "3", "café"), ((string)stored.Single()!["id"]!, (string)stored.Single()!["properties"]!["note"]!));

        // Any other shape of body is answered as before, with its precise code.
        (await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: "{\"events\": ["))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
        (await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: "{\"events\": [], \"extra\": 1}"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "unknown_field", "extra");
        (await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: "{\"events\": null}"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "events");
        (await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: "{\"events\": \"x\"}"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        (await host.Client().Send(HttpMethod.Post, "/v1/meter_events/batch", rawBody: "[]"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "malformed_json");
    }

    [Fact]
    public async Task Fifty_clients_sending_overlapping_ids_count_each_id_once()
    {
        var name = Slug("race");
        var meter = await Meter(name, "count");
        var c = Wire.NewId();
        var now = host.Clock.GetUtcNow();
        // 50 clients, each sends 4 batches of 50 ids drawn from 300: every id is sent by many clients at once.
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(async w =>
        {
            var rng = new Random(w);
            long accepted = 0;
            for (var batch = 0; batch < 4; batch++)
            {
                var events = Enumerable.Range(0, 50).Select(_ => Event($"{name}_{rng.Next(300)}", name, c, now, new { })).ToArray();
                var r = await host.Client().Post("/v1/meter_events/batch", new { events });
                Assert.Equal(HttpStatusCode.Accepted, r.Status);
                Assert.Equal(50, (int)r.Body!["accepted"]! + (int)r.Body!["duplicates"]!);
                accepted += (int)r.Body!["accepted"]!;
            }
            return accepted;
        }));
        var distinct = Enumerable.Range(0, 50).SelectMany(w =>
        {
            var rng = new Random(w);
            return Enumerable.Range(0, 200).Select(_ => rng.Next(300));
        }).Distinct().Count();
        Assert.Equal(distinct, responses.Sum());
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        Assert.Equal(distinct, (decimal)(await Usage(meter, hour, hour.AddHours(1), customer: c))[0]!["value"]!);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Rollups_equal_a_recomputation_from_the_raw_events_and_survive_a_rebuild(int seed)
    {
        var name = Slug("prop");
        var sum = await Meter(name, "sum", "v", ["g"]);
        var max = await Meter(name, "max", "v", ["g"]);
        var min = await Meter(name, "min", "v");
        var latest = await Meter(name, "latest", "v");
        var uniq = await Meter(name, "unique_count", "u", ["g"]);
        var b = Base();
        var rng = new Random(seed);
        var customers = new[] { Wire.NewId(), Wire.NewId() };
        var events = new List<(string Id, string Customer, DateTimeOffset At, string G, decimal V, string U)>();
        for (var batch = 0; batch < 4; batch++)
        {
            var list = new List<object>();
            for (var i = 0; i < 60; i++)
            {
                // Ids repeat across batches (retries) and timestamps repeat (ties for latest).
                var id = $"{name}_{rng.Next(200)}";
                var at = b.AddMinutes(rng.Next(0, 6) * 17).AddSeconds(rng.Next(0, 3));
                var e = (id, customers[rng.Next(2)], at, rng.Next(2) == 0 ? "x" : "y", rng.Next(-50, 1000) / 4m, $"u{rng.Next(5)}");
                list.Add(Event(e.id, name, e.Item2, e.at, new { g = e.Item4, v = e.Item5, u = e.Item6 }));
                if (events.All(x => x.Id != id)) events.Add(e);
            }
            await Send([.. list]);
        }
        var to = b.AddHours(3);
        async Task Verify()
        {
            foreach (var customer in customers)
            {
                var mine = events.Where(e => e.Customer == customer).ToList();
                var byHour = mine.GroupBy(e => (Hour: new DateTimeOffset(e.At.Year, e.At.Month, e.At.Day, e.At.Hour, 0, 0, TimeSpan.Zero), e.G))
                    .OrderBy(g => g.Key.Hour).ThenBy(g => g.Key.G, StringComparer.Ordinal).ToList();
                string Key(DateTimeOffset h, string g) => $"{Iso(h)[..19]}Z|{{\"g\":\"{g}\"}}";
                Assert.Equal(byHour.Select(g => (Key(g.Key.Hour, g.Key.G), g.Sum(e => e.V))),
                    (await Usage(sum, b, to, "hour", customer, "g")).Select(d => ($"{(string)d!["window_start"]!}|{d["group"]!.ToJsonString()}", (decimal)d["value"]!)));
                Assert.Equal(byHour.Select(g => (Key(g.Key.Hour, g.Key.G), g.Max(e => e.V))),
                    (await Usage(max, b, to, "hour", customer, "g")).Select(d => ($"{(string)d!["window_start"]!}|{d["group"]!.ToJsonString()}", (decimal)d["value"]!)));
                Assert.Equal(byHour.Select(g => (Key(g.Key.Hour, g.Key.G), (decimal)g.Select(e => e.U).Distinct().Count())),
                    (await Usage(uniq, b, to, "hour", customer, "g")).Select(d => ($"{(string)d!["window_start"]!}|{d["group"]!.ToJsonString()}", (decimal)d["value"]!)));
                Assert.Equal(mine.Min(e => e.V), (decimal)(await Usage(min, b, to, "day", customer)).Min(d => (decimal)d!["value"]!));
                // Latest over the whole range: the latest event time; on a tie the greatest value.
                var last = mine.OrderByDescending(e => e.At).ThenByDescending(e => e.V).First();
                Assert.Equal(last.V, (decimal)(await Usage(latest, b, to, customer: customer))[0]!["value"]!);
            }
        }
        await Verify();
        // The rebuild recomputes what the roller folded (ADR 0006): roll everything first, so that is every event.
        while ((await host.Store.WriteRollupsAsync(s => Kassa.Engine.Metering.RollMeterEvents.Execute(s, host.Clock.GetUtcNow()))).Full) { }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(1_000_000))).EventsBehind > 0 && DateTime.UtcNow < deadline)
            await host.Store.WriteRollupsAsync(s => Kassa.Engine.Metering.RollMeterEvents.Execute(s, host.Clock.GetUtcNow()));
        await Verify();
        foreach (var meter in new[] { sum, max, min, latest, uniq })
        {
            var rebuilt = await host.Store.WriteRollupsAsync(async s =>
                await Kassa.Engine.Metering.RebuildMeterRollups.Execute(s, (await s.Metering.FindMetersAsync(meter)).Single()));
            Assert.Equal(events.Count, rebuilt.Events);
        }
        await Verify();
    }

    [Fact]
    public async Task A_meter_linked_to_a_feature_moves_its_balance_once_per_event()
    {
        var feature = Slug("tok");
        await host.Client().Post("/v1/features", new { id = feature, name = "Tokens", type = "metered" });
        var product = Slug("p");
        await host.Client().Post("/v1/products", new { id = product, name = "P", features = new[] { new { feature_id = feature, included = 1000, reset = "month" } } });
        var c = Wire.NewId();
        await host.Client().Put($"/v1/customers/{c}", new { name = "M" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = c, product_id = product })).Status);
        var name = Slug("gen");
        await Meter(name, "sum", "tokens", featureId: feature);
        var now = host.Clock.GetUtcNow();
        var batch = new[] { Event("t1", name, c, now, new { tokens = 300 }), Event("t2", name, c, now, new { tokens = 250.5 }) };
        await Send(batch);
        await Send(batch); // a retry: duplicates, no second deduction
        var balance = (await host.Client().Get($"/v1/customers/{c}/balances")).Body!["data"]!.AsArray().Single(x => (string)x!["feature_id"]! == feature)!;
        Assert.Equal((1000m, 550.5m, 449.5m), ((decimal)balance["granted"]!, (decimal)balance["used"]!, (decimal)balance["remaining"]!));
        // Past zero it becomes overage, like track; used is the whole usage, overage included.
        await Send(Event("t3", name, c, now, new { tokens = 500 }));
        var after = (await host.Client().Post("/v1/check", new { customer_id = c, feature_id = feature })).Body!["balance"]!;
        Assert.Equal((1050.5m, 0m, 50.5m), ((decimal)after["used"]!, (decimal)after["remaining"]!, (decimal)after["overage"]!));
    }

    [Fact]
    public async Task Meters_and_usage_queries_are_validated()
    {
        (await host.Client().Post("/v1/meters", new { id = Slug("m"), name = "M", event_name = "e" })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "aggregation");
        (await host.Client().Post("/v1/meters", new { id = Slug("m"), name = "M", event_name = "e", aggregation = "sum" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        (await host.Client().Post("/v1/meters", new { id = Slug("m"), name = "M", event_name = "e", aggregation = "median", value_property = "x" }))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        (await host.Client().Post("/v1/meters", new { id = Slug("m"), name = "M", event_name = "e", aggregation = "count", feature_id = "nope" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing", "feature_id");
        var id = await Meter("e", "sum", "x", ["model"]);
        (await host.Client().Post("/v1/meters", new { id, name = "M", event_name = "e", aggregation = "count" })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists", "id");
        Assert.Equal("sum", (string?)(await host.Client().Get($"/v1/meters/{id}")).Body!["aggregation"]);
        Assert.Contains((await host.Client().Get("/v1/meters?limit=100")).Body!["data"]!.AsArray(), m => (string)m!["id"]! == id);

        var b = Base();
        (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b)[..19]}Z")).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "parameter_missing", "to");
        // Any instant is a valid bound (partial hours are read from the raw events); an empty range has no windows.
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b.AddMinutes(30))[..19]}Z&to={Iso(b.AddHours(2))[..19]}Z")).Status);
        (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b)[..19]}Z&to={Iso(b.AddHours(2))[..19]}Z&window=week"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "window");
        (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b)[..19]}Z&to={Iso(b.AddHours(2))[..19]}Z&tz=Europe/Paris"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "tz");
        (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b)[..19]}Z&to={Iso(b.AddHours(2))[..19]}Z&group_by=region"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "group_by");
        (await host.Client().Get($"/v1/meters/{id}/usage?from={Iso(b)[..19]}Z&to={Iso(b.AddYears(3))[..19]}Z&window=hour"))
            .AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "to");
        (await host.Client().Get($"/v1/meters/nope/usage?from={Iso(b)[..19]}Z&to={Iso(b.AddHours(2))[..19]}Z"))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        Assert.Empty(await Usage(id, b, b.AddHours(2), "hour"));
    }
}

public sealed class MeteringTestsSqlite(SqliteHost host) : MeteringTests(host), IClassFixture<SqliteHost>;

public sealed class MeteringTestsPostgres(PostgresHost host) : MeteringTests(host), IClassFixture<PostgresHost>;
