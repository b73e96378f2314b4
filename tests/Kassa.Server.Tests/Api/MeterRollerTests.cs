using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Metering;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// ADR 0006, round two: ingest stores raw events only and the roller folds them into the rollups behind
/// a watermark. Usage must be exact whatever was rolled; each event is folded exactly once, also with two
/// rollers racing; the rebuild works behind the watermark. Both engines. The test hosts run no background
/// workers, so every roll here is one the test asked for (the worker is run on its own in one test).
/// </summary>
public abstract class MeterRollerTests(KassaHost host)
{
    private static string Slug(string p) => $"{p}_{Guid.NewGuid():N}"[..(p.Length + 11)];
    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private Tenant Tenant => new(host.Account.AccountId, false);

    /// <summary>The start of the hour two days before now: every test event lands after it and within the accepted range.</summary>
    private DateTimeOffset Base()
    {
        var now = host.Clock.GetUtcNow().AddDays(-2);
        return new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
    }

    private static readonly string[] Aggregations = ["sum", "count", "min", "max", "unique_count", "latest"];

    /// <summary>One meter of each aggregation on one event name (value property v, unique property u).</summary>
    private async Task<(string Name, Dictionary<string, string> Meters)> MetersAsync()
    {
        var name = Slug("roll");
        var meters = new Dictionary<string, string>();
        foreach (var aggregation in Aggregations)
        {
            var id = Slug("m");
            var r = await host.Client().Post("/v1/meters", new
            {
                id, name = "M", event_name = name, aggregation, value_property = aggregation switch { "count" => null, "unique_count" => "u", _ => "v" },
            });
            Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
            meters[aggregation] = id;
        }
        return (name, meters);
    }

    /// <summary>
    /// The common start of a test: the engine required, nothing left behind the roller, a fresh set of
    /// meters, the base hour and a fresh customer id.
    /// </summary>
    private async Task<(string Name, Dictionary<string, string> Meters, DateTimeOffset Base, string Customer)> StartAsync()
    {
        host.RequireEngine();
        await RollAllAsync();
        var (name, meters) = await MetersAsync();
        return (name, meters, Base(), Wire.NewId());
    }

    private sealed record Ev(string Id, string Customer, DateTimeOffset At, decimal V, string U);

    /// <summary>Sends the events in one batch and adds the ones stored (first occurrence of an id wins) to <paramref name="stored"/>.</summary>
    private async Task SendAsync(string name, List<Ev> stored, IEnumerable<Ev> events)
    {
        var list = events.ToList();
        var r = await host.Client().Post("/v1/meter_events/batch", new
        {
            events = list.Select(e => new { id = e.Id, event_name = name, customer_id = e.Customer, timestamp = Iso(e.At), properties = new { v = e.V, u = e.U } }),
        });
        Assert.True(r.Status == HttpStatusCode.Accepted, r.Body?.ToJsonString());
        var accepted = 0;
        foreach (var e in list)
        {
            if (stored.Any(x => x.Id == e.Id)) continue;
            stored.Add(e);
            accepted++;
        }
        Assert.Equal(accepted, (int)r.Body!["accepted"]!);
    }

    /// <summary>What the API must answer for one aggregation over [from, to), recomputed from the stored events; null when there are none.</summary>
    private static decimal? Expected(string aggregation, IEnumerable<Ev> stored, string? customer, DateTimeOffset from, DateTimeOffset to)
    {
        var mine = stored.Where(e => (customer is null || e.Customer == customer) && e.At >= from && e.At < to).ToList();
        if (mine.Count == 0) return null;
        return aggregation switch
        {
            "sum" => mine.Sum(e => e.V),
            "count" => mine.Count,
            "min" => mine.Min(e => e.V),
            "max" => mine.Max(e => e.V),
            "unique_count" => mine.Select(e => e.U).Distinct().Count(),
            "latest" => mine.OrderByDescending(e => e.At).ThenByDescending(e => e.V).First().V,
            _ => throw new ArgumentOutOfRangeException(nameof(aggregation)),
        };
    }

    private async Task<decimal?> UsageAsync(string meter, DateTimeOffset from, DateTimeOffset to, string? customer)
    {
        var q = $"/v1/meters/{meter}/usage?from={Iso(from)[..19]}Z&to={Iso(to)[..19]}Z" + (customer is null ? "" : $"&customer_id={customer}");
        var r = await host.Client().Get(q);
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        var data = r.Body!["data"]!.AsArray();
        return data.Count == 0 ? null : (decimal)data.Single()!["value"]!;
    }

    /// <summary>Every aggregation over every range asked for equals the recomputation from the stored events.</summary>
    private async Task AssertExactAsync(Dictionary<string, string> meters, List<Ev> stored, IEnumerable<(DateTimeOffset From, DateTimeOffset To)> ranges,
        IEnumerable<string?> customers, string when)
    {
        foreach (var (from, to) in ranges)
        foreach (var customer in customers)
        foreach (var (aggregation, meter) in meters)
        {
            var expected = Expected(aggregation, stored, customer, from, to);
            var actual = await UsageAsync(meter, from, to, customer);
            Assert.True(expected == actual, $"{when}: {aggregation} over [{Iso(from)}, {Iso(to)}) for {customer ?? "all"}: expected {expected}, got {actual}");
        }
    }

    private Task<RollMeterEvents.Outcome> RollAsync(int chunk = RollMeterEvents.ChunkEventsMax, Kassa.Engine.Storage.IKassaStore? store = null) =>
        (store ?? host.Store).WriteRollupsAsync(s => RollMeterEvents.Execute(s, host.Clock.GetUtcNow(), chunk));

    /// <summary>
    /// Rolls until nothing committed is behind. On PostgreSQL a roll may take less than is there: the
    /// snapshot's xmin is cluster-wide, so a transaction open in another database (another test class)
    /// holds it back for a moment; then it waits a little and rolls again.
    /// </summary>
    private async Task RollAllAsync(Kassa.Engine.Storage.IKassaStore? store = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var rolled = await RollAsync(store: store);
            if (rolled.Full) continue;
            if ((await StatusAsync()).EventsBehind == 0) return;
            await Task.Delay(20);
        }
        throw new InvalidOperationException("the roller did not catch up in 30 s");
    }

    private Task<Kassa.Engine.Storage.RollerStatus> StatusAsync() => host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(1_000_000));

    /// <summary>The events the stored rollup cells of a meter count: each folded event adds exactly one.</summary>
    private async Task<long> RolledCountAsync(string meter, DateTimeOffset from, DateTimeOffset to) =>
        (await host.Store.ReadAsync(s => s.Metering.LoadRollupsAsync(Tenant, meter, null, from, to, 100_000))).Sum(r => r.Cell.Count);

    [Fact]
    public async Task Usage_is_exact_at_every_boundary_before_during_and_after_rolls()
    {
        host.RequireEngine();
        await RollAllAsync();
        var (name, meters) = await MetersAsync();
        var b = Base();
        var customers = new[] { Wire.NewId(), Wire.NewId() };
        var rng = new Random(7);
        var stored = new List<Ev>();
        Ev Random(string id) => new(id, customers[rng.Next(2)], b.AddMinutes(rng.Next(0, 240)).AddSeconds(rng.Next(0, 60)), rng.Next(-40, 400) / 8m, $"u{rng.Next(6)}");
        // Mid-hour bounds, whole hours, one partial hour, a range inside one hour, and ranges ending before and starting after events.
        var ranges = new[]
        {
            (b, b.AddHours(4)), (b.AddMinutes(17), b.AddHours(3).AddMinutes(5)), (b.AddHours(1), b.AddHours(3)), (b.AddHours(1).AddMinutes(10), b.AddHours(1).AddMinutes(50)),
            (b.AddMinutes(59), b.AddHours(2).AddMinutes(1)), (b.AddHours(-3), b.AddHours(1)), (b.AddHours(2), b.AddHours(9)),
        };
        var who = new string?[] { customers[0], null };

        await SendAsync(name, stored, Enumerable.Range(0, 40).Select(i => Random($"{name}_a{i}")));
        await AssertExactAsync(meters, stored, ranges, who, "nothing rolled");
        // A part rolled: the chunk stops at some event, the rest stays raw.
        await RollAsync(chunk: 7);
        await AssertExactAsync(meters, stored, ranges, who, "partly rolled");
        await RollAllAsync();
        await AssertExactAsync(meters, stored, ranges, who, "all rolled");

        // Duplicates of rolled ids (other values, ignored) and of each other, plus new events in the same hours.
        await SendAsync(name, stored, Enumerable.Range(0, 30).Select(i => Random(i % 3 == 0 ? $"{name}_a{i}" : $"{name}_b{i % 20}")));
        await AssertExactAsync(meters, stored, ranges, who, "rolled and raw mixed");
        await RollAllAsync();
        await AssertExactAsync(meters, stored, ranges, who, "all rolled again");
        Assert.Equal(stored.Count, await RolledCountAsync(meters["count"], b, b.AddHours(4)));
    }

    [Fact]
    public async Task Usage_is_exact_when_more_events_are_behind_the_roller_than_one_walk_of_the_position_index_reads()
    {
        host.RequireEngine();
        await RollAllAsync();
        var (name, meters) = await MetersAsync();
        var b = Base();
        var (mine, other) = (Wire.NewId(), Wire.NewId());
        var stored = new List<Ev>();
        var ranges = new[] { (b, b.AddHours(3)), (b.AddMinutes(30), b.AddHours(2).AddMinutes(30)) };
        var who = new string?[] { mine, null };
        // A short lag: the walk reads every unrolled event, and the customer's own are picked out of it.
        await SendAsync(name, stored, Enumerable.Range(0, 5).Select(i => new Ev($"{name}_s{i}", mine, b.AddMinutes(20 + 31 * i), i + 1, $"u{i % 2}")));
        await AssertExactAsync(meters, stored, ranges, who, "short lag");

        // More unrolled events than one walk reads (other customers' mostly, the customer's spread through them).
        var batches = Kassa.Storage.SqlMetering.UnrolledScanMax / MeterEventInput.BatchMax + 1;
        for (var batch = 0; batch < batches; batch++)
        {
            var at = b.AddMinutes(batch * 10);
            await SendAsync(name, stored, Enumerable.Range(0, MeterEventInput.BatchMax).Select(i =>
                new Ev($"{name}_{batch}_{i}", i % 250 == 0 ? mine : other, at.AddSeconds(i % 600), i % 7, $"u{i % 5}")));
        }
        Assert.True(stored.Count > Kassa.Storage.SqlMetering.UnrolledScanMax);
        await AssertExactAsync(meters, stored, ranges, who, "long lag");
        await RollAllAsync();
        await AssertExactAsync(meters, stored, ranges, who, "all rolled");
    }

    [Fact]
    public async Task Lists_and_rebuild_reads_see_every_event_once_whether_rolled_into_the_event_index_or_not()
    {
        host.RequireEngine();
        await RollAllAsync();
        // A tenant of its own, so the lists across customers hold this test's events only.
        var acme = new Tenant(Slug("acct"), false);
        var hour = Base();
        var none = System.Text.Json.JsonDocument.Parse("{}").RootElement.Clone();
        // 30 events over two customers and two names, timestamps out of id order, some sharing a timestamp.
        var events = Enumerable.Range(0, 30).Select(i => new NormalizedEvent($"ev{i:D2}", i % 3 == 0 ? "calls" : "tokens", i % 2 == 0 ? "cus_a" : "cus_b",
            hour.AddSeconds((i * 7919) % 23), none, "{}")).ToList();
        foreach (var batch in events.Chunk(6)) await host.Store.WriteAsync(s => s.Metering.InsertEventsAsync(acme, batch, hour));
        // Newest first by (timestamp, id), as the lists promise; oldest first for the rebuild's read.
        static List<string> Expected(IEnumerable<NormalizedEvent> e) =>
            e.OrderByDescending(x => x.Timestamp).ThenByDescending(x => x.Id, StringComparer.Ordinal).Select(x => x.Id).ToList();
        async Task<List<string>> Paged(string? customer, string? name, DateTimeOffset? from, DateTimeOffset? to)
        {
            var ids = new List<string>();
            Kassa.Core.Paging.Cursor? after = null;
            while (true)
            {
                var page = await host.Store.ReadAsync(s => s.Metering.ListEventsAsync(acme, customer, name, from, to, after, 4));
                ids.AddRange(page.Select(e => e.Id));
                if (page.Count < 4) return ids;
                after = new Kassa.Core.Paging.Cursor(Micros.From(page[^1].Timestamp), page[^1].Id);
            }
        }
        async Task AssertListsAsync(string when)
        {
            Assert.True(Expected(events).SequenceEqual(await Paged(null, null, null, null)), when);
            Assert.True(Expected(events.Where(e => e.CustomerId == "cus_a")).SequenceEqual(await Paged("cus_a", null, null, null)), when);
            Assert.True(Expected(events.Where(e => e.CustomerId == "cus_b" && e.EventName == "calls")).SequenceEqual(await Paged("cus_b", "calls", null, null)), when);
            Assert.True(Expected(events.Where(e => e.Timestamp >= hour.AddSeconds(5) && e.Timestamp < hour.AddSeconds(17)))
                .SequenceEqual(await Paged(null, null, hour.AddSeconds(5), hour.AddSeconds(17))), when);
            var tokens = new List<string>();
            (DateTimeOffset, string)? after = null;
            while (true)
            {
                var page = await host.Store.ReadAsync(s => s.Metering.EventsInOrderAsync(acme, "tokens", after, 3));
                tokens.AddRange(page.Select(e => e.Id));
                if (page.Count < 3) break;
                after = (page[^1].Timestamp, page[^1].Id);
            }
            var expectedTokens = Expected(events.Where(e => e.EventName == "tokens"));
            expectedTokens.Reverse();
            Assert.True(expectedTokens.SequenceEqual(tokens), $"{when}: [{string.Join(", ", tokens)}]");
        }
        await AssertListsAsync("none rolled");
        // Rolled a few at a time (one ingest transaction of 6 at least on PostgreSQL, where a transaction's events
        // share a position): at every step some events are in the index and the rest read by position.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var step = 0; (await StatusAsync()).EventsBehind > 0; step++)
        {
            Assert.True(DateTime.UtcNow < deadline, "the roller did not catch up in 30 s");
            if ((await RollAsync(chunk: 7)).Events == 0) await Task.Delay(20);
            await AssertListsAsync($"after roll {step}");
        }
        // A rebuild holding the roller's lock reads exactly the rolled events, each once.
        var rebuilt = await host.Store.WriteRollupsAsync(async s => await s.Metering.EventsInOrderAsync(acme, "calls", null, 100, await s.Metering.LockRollerAsync()));
        var expectedCalls = Expected(events.Where(e => e.EventName == "calls"));
        expectedCalls.Reverse();
        Assert.Equal(expectedCalls, rebuilt.Select(e => e.Id));
    }

    [Fact]
    public async Task The_roller_folds_each_event_once_in_bounded_chunks_and_reports_what_is_behind()
    {
        var (name, meters, b, c) = await StartAsync();
        var before = await StatusAsync();
        Assert.Equal(0, before.EventsBehind);
        Assert.Equal(TimeSpan.Zero, before.Lag);
        var stored = new List<Ev>();
        // One request per event: each is its own ingest transaction, so PostgreSQL's positions differ too.
        var received = new List<DateTimeOffset>();
        for (var i = 0; i < 25; i++)
        {
            host.Clock.Advance(TimeSpan.FromSeconds(1));
            received.Add(host.Clock.GetUtcNow());
            await SendAsync(name, stored, [new Ev($"{name}_{i}", c, b.AddMinutes(i), i, $"u{i % 4}")]);
        }
        var behind = await StatusAsync();
        Assert.Equal(25, behind.EventsBehind);
        Assert.False(behind.EventsBehindCapped);
        // The host's clock runs on from where it was set: each receipt is at or after the clock read before its request.
        Assert.InRange(behind.OldestUnrolled!.Value, received[0], received[1]);
        Assert.True(behind.NewestUnrolled >= received[^1]);
        // Counted up to a cap, the oldest and newest are still the real ones (a sample of the rows gave a lag of seconds for minutes).
        var capped = await host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(5));
        Assert.Equal((5L, true), (capped.EventsBehind, capped.EventsBehindCapped));
        Assert.Equal((behind.OldestUnrolled, behind.NewestUnrolled), (capped.OldestUnrolled, capped.NewestUnrolled));
        Assert.Equal(before.Watermark, behind.Watermark);

        var chunks = new List<long>();
        for (var i = 0; i < 200 && (await StatusAsync()).EventsBehind > 0; i++)
        {
            var rolled = await RollAsync(chunk: 10);
            Assert.Equal(rolled.Events == 10, rolled.Full);
            if (rolled.Events > 0) chunks.Add(rolled.Events);
            else await Task.Delay(20);
        }
        // SQLite: 10, 10, 5. PostgreSQL the same unless a transaction elsewhere in the cluster held its xmin back for a moment.
        if (host.Engine == "sqlite") Assert.Equal([10L, 10L, 5L], chunks);
        Assert.All(chunks, n => Assert.InRange(n, 1, 10));
        Assert.Equal(25, chunks.Sum());
        Assert.Equal(0, (await RollAsync(chunk: 10)).Events);
        var after = await StatusAsync();
        Assert.Equal((0L, TimeSpan.Zero), (after.EventsBehind, after.Lag));
        Assert.True(after.Watermark > before.Watermark);
        Assert.Equal(before.RolledEvents + 25, after.RolledEvents);
        Assert.Equal(25, await RolledCountAsync(meters["count"], b, b.AddHours(1)));
        Assert.Equal(300m, await UsageAsync(meters["sum"], b, b.AddHours(1), c));
        Assert.Equal(4m, await UsageAsync(meters["unique_count"], b, b.AddHours(1), c));

        // One request of 12 rolled 5 at most: SQLite numbers each event, so 5, 5 and 2; PostgreSQL gives one
        // ingest transaction's events one position and never splits it, so it takes all 12 in one roll.
        await SendAsync(name, stored, Enumerable.Range(0, 12).Select(i => new Ev($"{name}_big{i}", c, b.AddMinutes(30 + i), 1, "u9")));
        var big = new List<long>();
        for (var i = 0; i < 200 && (await StatusAsync()).EventsBehind > 0; i++)
        {
            var rolled = await RollAsync(chunk: 5);
            if (rolled.Events > 0) big.Add(rolled.Events);
            else await Task.Delay(20);
        }
        Assert.Equal(host.Engine == "sqlite" ? [5L, 5L, 2L] : [12L], big);
        Assert.Equal(37, await RolledCountAsync(meters["count"], b, b.AddHours(1)));
    }

    [Fact]
    public async Task The_rebuild_recomputes_the_rolled_events_and_leaves_the_rest_to_the_roller()
    {
        var (name, meters, b, c) = await StartAsync();
        var stored = new List<Ev>();
        await SendAsync(name, stored, Enumerable.Range(0, 12).Select(i => new Ev($"{name}_r{i}", c, b.AddMinutes(i * 9), i, $"u{i % 5}")));
        await RollAllAsync();
        await SendAsync(name, stored, Enumerable.Range(0, 8).Select(i => new Ev($"{name}_t{i}", c, b.AddMinutes(i * 13 + 1), 100 + i, $"u{i}")));
        var ranges = new[] { (b, b.AddHours(3)), (b.AddMinutes(30), b.AddHours(2)) };
        foreach (var (aggregation, meter) in meters)
        {
            var rebuilt = await host.Store.WriteRollupsAsync(async s =>
                await RebuildMeterRollups.Execute(s, (await s.Metering.FindMetersAsync(meter)).Single()));
            // The 12 rolled events only: the 8 above the watermark are the roller's.
            Assert.Equal(12, rebuilt.Events);
        }
        await AssertExactAsync(meters, stored, ranges, [c], "rebuilt with a raw tail");
        await RollAllAsync();
        await AssertExactAsync(meters, stored, ranges, [c], "rebuilt then rolled");
        Assert.Equal(20, await RolledCountAsync(meters["count"], b, b.AddHours(3)));
        var again = await host.Store.WriteRollupsAsync(async s => await RebuildMeterRollups.Execute(s, (await s.Metering.FindMetersAsync(meters["count"])).Single()));
        Assert.Equal(20, again.Events);
        Assert.Equal(20, await RolledCountAsync(meters["count"], b, b.AddHours(3)));
    }

    /// <summary>A plan read outside a write transaction; on PostgreSQL retried until it covers <paramref name="events"/> (see <see cref="RollAllAsync"/>).</summary>
    private async Task<RollMeterEvents.Plan> PlanAsync(int events)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var plan = await host.Store.ReadAsync(s => RollMeterEvents.PlanAsync(s));
            if (plan.Events >= events || DateTime.UtcNow > deadline) return plan;
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_roll_read_outside_the_write_lock_is_written_only_while_the_watermark_is_where_it_was_read()
    {
        var (name, meters, b, c) = await StartAsync();
        var stored = new List<Ev>();
        await SendAsync(name, stored, Enumerable.Range(0, 10).Select(i => new Ev($"{name}_a{i}", c, b.AddMinutes(i * 7), i, $"u{i % 3}")));
        var stale = await PlanAsync(10);
        Assert.Equal(10, stale.Events);
        Assert.False(stale.IsEmpty);
        // Another roll folds the same events first: the stale plan must then write nothing.
        await RollAllAsync();
        Assert.Null(await host.Store.WriteRollupsAsync(s => RollMeterEvents.ApplyAsync(s, stale, host.Clock.GetUtcNow())));
        Assert.Equal(10, await RolledCountAsync(meters["count"], b, b.AddHours(3)));

        await SendAsync(name, stored, Enumerable.Range(0, 5).Select(i => new Ev($"{name}_b{i}", c, b.AddMinutes(i * 11 + 3), 50 + i, $"u{i}")));
        var fresh = await PlanAsync(5);
        var applied = await host.Store.WriteRollupsAsync(s => RollMeterEvents.ApplyAsync(s, fresh, host.Clock.GetUtcNow()));
        Assert.NotNull(applied);
        Assert.Equal(5, applied.Events);
        Assert.Equal(fresh.Upper, applied.Watermark);
        Assert.Equal(15, await RolledCountAsync(meters["count"], b, b.AddHours(3)));
        Assert.Equal(0, (await StatusAsync()).EventsBehind);
        await AssertExactAsync(meters, stored, [(b, b.AddHours(3)), (b.AddMinutes(20), b.AddHours(1))], [c], "planned and applied");
        // Nothing behind: the next plan folds nothing. On SQLite it is empty, so the worker takes no write
        // lock for it; PostgreSQL's watermark follows the cluster's transaction ids, which move without events.
        var idle = await host.Store.ReadAsync(s => RollMeterEvents.PlanAsync(s));
        Assert.Equal(0, idle.Events);
        if (host.Store.Engine == "sqlite") Assert.True(idle.IsEmpty);
    }

    [Fact]
    public async Task Two_rollers_racing_with_ingest_fold_each_event_exactly_once()
    {
        var (name, meters, b, c) = await StartAsync();
        await using var other = host.OpenAnotherStore();
        var ingestDone = false;
        async Task RollerLoop(Kassa.Engine.Storage.IKassaStore store)
        {
            // Small chunks, so the two take many turns each while the events arrive.
            while (true)
            {
                var done = Volatile.Read(ref ingestDone);
                var rolled = await store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, host.Clock.GetUtcNow(), 37));
                if (done && rolled.Events == 0) return;
            }
        }
        var rollers = new[] { Task.Run(() => RollerLoop(host.Store)), Task.Run(() => RollerLoop(other)) };
        // 16 clients, 10 batches of 50 each; a fifth of every batch repeats ids other batches carry.
        var sent = await Task.WhenAll(Enumerable.Range(0, 16).Select(async client =>
        {
            long accepted = 0;
            for (var batch = 0; batch < 10; batch++)
            {
                var events = Enumerable.Range(0, 50).Select(i => i < 10 ? $"{name}_shared_{batch}_{i}" : $"{name}_{client}_{batch}_{i}")
                    .Select((id, i) => new { id, event_name = name, customer_id = c, timestamp = Iso(b.AddMinutes((client * 7 + i) % 180)), properties = new { v = 1, u = id } });
                var r = await host.Client().Post("/v1/meter_events/batch", new { events });
                Assert.True(r.Status == HttpStatusCode.Accepted, r.Body?.ToJsonString());
                accepted += (long)r.Body!["accepted"]!;
            }
            return accepted;
        }));
        Volatile.Write(ref ingestDone, true);
        await Task.WhenAll(rollers);
        await RollAllAsync();
        const long distinct = 16 * 10 * 40 + 10 * 10;
        Assert.Equal(distinct, sent.Sum());
        Assert.Equal(0, (await StatusAsync()).EventsBehind);
        Assert.Equal(distinct, await RolledCountAsync(meters["count"], b, b.AddHours(3)));
        Assert.Equal(distinct, await UsageAsync(meters["count"], b, b.AddHours(3), c));
        Assert.Equal(distinct, await UsageAsync(meters["sum"], b.AddMinutes(-1), b.AddHours(3).AddMinutes(1), c));
        Assert.Equal(distinct, await UsageAsync(meters["unique_count"], b, b.AddHours(3), c));
    }

    [Fact]
    public async Task The_rollup_worker_catches_up_by_itself()
    {
        host.RequireEngine();
        var (name, meters) = await MetersAsync();
        var b = Base();
        var c = Wire.NewId();
        var stored = new List<Ev>();
        await SendAsync(name, stored, Enumerable.Range(0, 30).Select(i => new Ev($"{name}_{i}", c, b.AddMinutes(i * 3), 2, "u")));
        var worker = new Kassa.Server.Workers.MeterRollupWorker(host.Store, host.Clock,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Kassa.Server.Workers.MeterRollupWorker>.Instance);
        await worker.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await StatusAsync()).EventsBehind > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
        Assert.Equal(0, (await StatusAsync()).EventsBehind);
        Assert.Equal(30, await RolledCountAsync(meters["count"], b, b.AddHours(2)));
        Assert.Equal(60m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body)> PostBytesAsync(string path, byte[] body, string contentType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await host.Client().PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task CloudEvents_encoded_by_the_official_SDK_are_ingested_one_at_a_time_and_as_a_batch()
    {
        host.RequireEngine();
        var (name, meters) = await MetersAsync();
        var b = Base();
        var c = Wire.NewId();
        CloudNative.CloudEvents.CloudEvent Make(string id, int minute, decimal v, string u) => new()
        {
            Id = $"{name}_{id}", Type = name, Source = new Uri("urn:kassa:tests"), Subject = c, Time = b.AddMinutes(minute),
            DataContentType = "application/json", Data = System.Text.Json.JsonSerializer.SerializeToElement(new { v, u }),
        };
        var formatter = new CloudNative.CloudEvents.SystemTextJson.JsonEventFormatter();

        // Structured mode, one event: application/cloudevents+json.
        var one = formatter.EncodeStructuredModeMessage(Make("s1", 5, 2.5m, "alice"), out var oneType);
        Assert.StartsWith("application/cloudevents+json", oneType.ToString());
        var single = await PostBytesAsync("/v1/meter_events", one.ToArray(), oneType.ToString());
        Assert.True(single.Status == HttpStatusCode.Accepted, single.Body?.ToJsonString());
        Assert.Equal((1L, 0L), ((long)single.Body!["accepted"]!, (long)single.Body["duplicates"]!));

        // Batch mode: application/cloudevents-batch+json, a bare array; the first repeats the single event's id.
        var events = new[] { Make("s1", 6, 99, "zed"), Make("b1", 20, 1, "bob"), Make("b2", 70, 4, "alice"), Make("b3", 95, 0.25m, "carol") };
        var batch = formatter.EncodeBatchModeMessage(events, out var batchType);
        Assert.StartsWith(MeteringEndpointsBatchType, batchType.ToString());
        var many = await PostBytesAsync("/v1/meter_events/batch", batch.ToArray(), batchType.ToString());
        Assert.True(many.Status == HttpStatusCode.Accepted, many.Body?.ToJsonString());
        Assert.Equal((3L, 1L, 0), ((long)many.Body!["accepted"]!, (long)many.Body["duplicates"]!, many.Body["rejected"]!.AsArray().Count));

        async Task Exact()
        {
            Assert.Equal(7.75m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));
            Assert.Equal(4m, await UsageAsync(meters["count"], b, b.AddHours(2), c));
            Assert.Equal(3m, await UsageAsync(meters["unique_count"], b, b.AddHours(2), c));
            Assert.Equal(0.25m, await UsageAsync(meters["latest"], b, b.AddHours(2), c));
            Assert.Equal(3.5m, await UsageAsync(meters["sum"], b.AddMinutes(1), b.AddHours(1), c));
        }
        await Exact();
        await RollAllAsync();
        await Exact();

        // Hostile CloudEvents batches: not an array, not JSON, too many, an invalid event among good ones.
        var notArray = await PostBytesAsync("/v1/meter_events/batch", "{\"id\": \"x\"}"u8.ToArray(), MeteringEndpointsBatchType);
        Assert.Equal((HttpStatusCode.BadRequest, "validation_failed"), (notArray.Status, (string?)notArray.Body!["error"]!["code"]));
        var notJson = await PostBytesAsync("/v1/meter_events/batch", "[{\"id\": "u8.ToArray(), MeteringEndpointsBatchType);
        Assert.Equal((HttpStatusCode.BadRequest, "malformed_json"), (notJson.Status, (string?)notJson.Body!["error"]!["code"]));
        var tooMany = formatter.EncodeBatchModeMessage(Enumerable.Range(0, 1_001).Select(i => Make($"many{i}", 1, 1, "u")).ToList(), out _);
        var refused = await PostBytesAsync("/v1/meter_events/batch", tooMany.ToArray(), MeteringEndpointsBatchType);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "payload_too_large"), (refused.Status, (string?)refused.Body!["error"]!["code"]));
        var mixed = formatter.EncodeBatchModeMessage([Make("m1", 30, 1, "u"), new CloudNative.CloudEvents.CloudEvent
        {
            Id = $"{name}_m2", Type = name, Source = new Uri("urn:kassa:tests"), Time = b.AddMinutes(31), DataContentType = "application/json",
            Data = System.Text.Json.JsonSerializer.SerializeToElement(new { v = 1, u = "u" }),
        }], out _);
        var partly = await PostBytesAsync("/v1/meter_events/batch", mixed.ToArray(), MeteringEndpointsBatchType);
        Assert.True(partly.Status == HttpStatusCode.Accepted, partly.Body?.ToJsonString());
        Assert.Equal(1L, (long)partly.Body!["accepted"]!);
        Assert.Equal(1, (int)partly.Body["rejected"]![0]!["index"]!);
        Assert.Equal(8.75m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));
    }

    private const string MeteringEndpointsBatchType = Kassa.Server.Endpoints.MeteringEndpoints.CloudEventsBatchContentType;

    /// <summary>One step of an interleaving: an ingest batch, a roll of a bounded chunk, or a usage query.</summary>
    public sealed record Step(int Kind, (int Id, int Minute, int Value, int Customer)[] Events, int Chunk, int FromMinute, int ToMinute, int Customer);

    private static readonly Gen<Step> StepGen = Gen.Frequency(
        (3, from events in Gen.ArrayOf(from id in Gen.Choose(0, 24) from minute in Gen.Choose(0, 239) from value in Gen.Choose(-20, 100) from customer in Gen.Choose(0, 1)
                select (id, minute, value, customer))
            select new Step(0, events, 0, 0, 0, 0)),
        (2, from chunk in Gen.Choose(1, 6) select new Step(1, [], chunk, 0, 0, 0)),
        (3, from fromMinute in Gen.Choose(-30, 240) from length in Gen.Choose(1, 260) from customer in Gen.Choose(0, 2)
            select new Step(2, [], 0, fromMinute, fromMinute + length, customer)));

    [Fact]
    public async Task Whatever_the_interleaving_of_ingest_roll_and_query_usage_equals_a_recomputation_from_the_raw_events()
    {
        host.RequireEngine();
        await RollAllAsync();
        var b = Base();
        var property = Prop.ForAll(Gen.ArrayOf(StepGen).Where(s => s.Length is > 0 and <= 12).ToArbitrary(), steps =>
        {
            // The HTTP calls are asynchronous; the property runs them on the thread pool and waits.
            Task.Run(() => RunSteps(steps)).GetAwaiter().GetResult();
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(15), property);

        async Task RunSteps(Step[] steps)
        {
            var (name, meters) = await MetersAsync();
            var customers = new[] { Wire.NewId(), Wire.NewId() };
            var stored = new List<Ev>();
            foreach (var step in steps)
            {
                switch (step.Kind)
                {
                    case 0 when step.Events.Length > 0:
                        await SendAsync(name, stored, step.Events.Select(e =>
                            new Ev($"{name}_{e.Id}", customers[e.Customer], b.AddMinutes(e.Minute).AddSeconds(e.Id), e.Value / 4m, $"u{e.Value % 3}")));
                        break;
                    case 1:
                        await RollAsync(step.Chunk);
                        break;
                    case 2:
                        await AssertExactAsync(meters, stored, [(b.AddMinutes(step.FromMinute), b.AddMinutes(step.ToMinute))],
                            [step.Customer == 2 ? null : customers[step.Customer]], "interleaving");
                        break;
                }
            }
            // Finally everything rolled: the cells themselves equal the recomputation, hour by hour.
            await RollAllAsync();
            var cells = await host.Store.ReadAsync(s => s.Metering.LoadRollupsAsync(Tenant, meters["sum"], null, b.AddHours(-1), b.AddHours(5), 100_000));
            var expected = stored.GroupBy(e => (e.Customer, Hour: new DateTimeOffset(e.At.Year, e.At.Month, e.At.Day, e.At.Hour, 0, 0, TimeSpan.Zero)))
                .ToDictionary(g => g.Key, g => (Count: (long)g.Count(), Sum: g.Sum(e => e.V)));
            Assert.Equal(expected.Count, cells.Count);
            foreach (var cell in cells)
                Assert.Equal(expected[(cell.CustomerId, cell.Hour)], (cell.Cell.Count, Kassa.Core.Balances.Micro.ToDecimal(cell.Cell.Sum)));
            await AssertExactAsync(meters, stored, [(b.AddMinutes(-30), b.AddHours(5))], [customers[0], customers[1], null], "all rolled");
        }
    }
}

public sealed class MeterRollerTestsSqlite(SqliteHost host) : MeterRollerTests(host), IClassFixture<SqliteHost>;

public sealed class MeterRollerTestsPostgres(PostgresHost host) : MeterRollerTests(host), IClassFixture<PostgresHost>;

/// <summary>
/// PostgreSQL only (SQLite has one writer, so no transaction commits out of order there): an ingest
/// transaction that stays open while later ones commit and are rolled must not be skipped by the
/// watermark, and usage must be exact all along.
/// </summary>
public sealed class MeterRollerOutOfOrderTests(PostgresHost host) : IClassFixture<PostgresHost>
{
    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private async Task<decimal?> UsageAsync(string meter, DateTimeOffset from, DateTimeOffset to, string customer)
    {
        var r = await host.Client().Get($"/v1/meters/{meter}/usage?from={Iso(from)[..19]}Z&to={Iso(to)[..19]}Z&customer_id={customer}");
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        var data = r.Body!["data"]!.AsArray();
        return data.Count == 0 ? null : (decimal)data.Single()!["value"]!;
    }

    [Fact]
    public async Task An_ingest_transaction_that_commits_after_later_ones_were_rolled_is_rolled_exactly_once()
    {
        host.RequireEngine();
        var tenant = new Tenant(host.Account.AccountId, false);
        var name = $"ooo_{Guid.NewGuid():N}"[..20];
        var meters = new Dictionary<string, string>();
        foreach (var aggregation in new[] { "count", "sum" })
        {
            var id = $"m_{Guid.NewGuid():N}"[..20];
            Assert.Equal(HttpStatusCode.Created,
                (await host.Client().Post("/v1/meters", new { id, name = "M", event_name = name, aggregation, value_property = aggregation == "sum" ? "v" : null })).Status);
            meters[aggregation] = id;
        }
        var now = host.Clock.GetUtcNow().AddDays(-1);
        var b = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var c = Wire.NewId();
        object Event(string id, int minute, int v) => new { id, event_name = name, customer_id = c, timestamp = Iso(b.AddMinutes(minute)), properties = new { v } };
        async Task<long> RolledCount() =>
            (await host.Store.ReadAsync(s => s.Metering.LoadRollupsAsync(tenant, meters["count"], null, b, b.AddHours(2), 1_000))).Sum(r => r.Cell.Count);
        async Task Roll()
        {
            for (var i = 0; i < 5; i++) await host.Store.WriteRollupsAsync(s => RollMeterEvents.Execute(s, host.Clock.GetUtcNow(), 3));
        }

        // Transaction A: 4 events (sum 1000), inserted and held open.
        var held = Enumerable.Range(0, 4).Select(i => System.Text.Json.JsonSerializer.SerializeToElement(Event($"{name}_a{i}", 10 + i * 20, 250))).ToList();
        var prepared = IngestMeterEvents.Prepare(held, host.Clock.GetUtcNow());
        var inserted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = Task.Run(() => host.Store.WriteAsync(async s =>
        {
            var r = await IngestMeterEvents.Execute(s, new OperationContext(tenant, Actor.System, "req_held", host.Clock.GetUtcNow()), prepared);
            inserted.SetResult();
            await release.Task;
            return r;
        }));
        await inserted.Task;

        // Transactions B1..B3 start later (higher transaction ids), commit first and are rolled.
        for (var k = 0; k < 3; k++)
        {
            var r = await host.Client().Post("/v1/meter_events/batch", new { events = new[] { Event($"{name}_b{k}", 5 + k * 30, 1), Event($"{name}_b{k}x", 65 + k, 10) } });
            Assert.Equal(HttpStatusCode.Accepted, r.Status);
        }
        await Roll();
        // The open transaction holds the snapshot's xmin: nothing at or above it is folded, so B waits for A.
        Assert.Equal(0, await RolledCount());
        Assert.True((await host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(1_000_000))).EventsBehind >= 6);
        // Usage is exact meanwhile: B is counted (raw), A is not committed.
        Assert.Equal(6m, await UsageAsync(meters["count"], b, b.AddHours(2), c));
        Assert.Equal(33m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));
        Assert.Equal(2m, await UsageAsync(meters["sum"], b.AddMinutes(1), b.AddHours(1), c));

        release.SetResult();
        Assert.Equal(4, (await a).Accepted);
        Assert.Equal(10m, await UsageAsync(meters["count"], b, b.AddHours(2), c));
        Assert.Equal(1033m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await RolledCount() < 10 && DateTime.UtcNow < deadline)
        {
            await Roll();
            await Task.Delay(20);
        }
        // A and B each folded exactly once, and usage unchanged by the roll.
        Assert.Equal(10, await RolledCount());
        Assert.Equal(1033m, (await host.Store.ReadAsync(s => s.Metering.LoadRollupsAsync(tenant, meters["sum"], null, b, b.AddHours(2), 1_000)))
            .Sum(r => Kassa.Core.Balances.Micro.ToDecimal(r.Cell.Sum)));
        Assert.Equal(10m, await UsageAsync(meters["count"], b, b.AddHours(2), c));
        Assert.Equal(1033m, await UsageAsync(meters["sum"], b, b.AddHours(2), c));
        Assert.Equal(752m, await UsageAsync(meters["sum"], b.AddMinutes(1), b.AddHours(1), c));
        await Roll();
        Assert.Equal(10, await RolledCount());
    }
}
