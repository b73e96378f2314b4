using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Kassa.Bench;

/// <summary>
/// Metering (spec §6): three meters on one event name, then
/// <list type="bullet">
/// <item>ingest: batches of 1,000 events, 200 of them with ids the server already stored (20 % duplicates),
/// on <c>/v1/meter_events/batch</c> and on its bench twin under <c>/v1/bench_baseline/</c>, which stores
/// every event in a transaction of its own (mapped only with <c>KASSA_BENCH_ROUTES=1</c>);</item>
/// <item>usage: one customer's month by day and model (<c>GET /v1/meters/{id}/usage</c>, answered from
/// hourly rollups) at the small store the setup makes, and again after loading <c>--events</c> more
/// events, to show its cost follows the customer's rows and not the size of the store.</item>
/// </list>
/// Customers are only ids here: the meters have no <c>feature_id</c>, so ingest never reads a customer row
/// and creating 10,000 of them would only lengthen the setup.
/// </summary>
internal static class Metering
{
    // The API's largest batch: the most events per request, so the figures are the engine's and not HTTP's.
    public const int BatchEvents = 1000;

    // Every fifth event of an ingest batch repeats a stored id: 800 new + 200 repeats, 20 % duplicates.
    public const int RepeatEvery = 5;

    // The usage targets query these customers, whose events the setup loads and nothing else touches: the
    // large-store query then reads exactly the rows the small-store one read, and only the store differs.
    // 1,000 events each is the density of the default large store (10,000,000 events over 10,000 customers);
    // 20 of them (20,000 events) keep the setup short, and a query reads one customer's rows whichever it is.
    public const int QueryCustomers = 20;
    public const int EventsPerQueryCustomer = 1000;

    // Loads keep at most this many batches in flight: enough for the server's group commit to put several
    // into one transaction, few enough that a batch never waits past the client's 30 s timeout (it would be
    // sent again, and the server would then do it twice).
    private const int LoadWorkers = 8;

    // An ingest batch the client gave up on is still written by the server, so the ingest phases let the
    // batches in flight finish (up to the request timeout) before the next phase starts on a quiet server.
    private static readonly TimeSpan IngestGrace = BenchHttp.RequestTimeout;

    // Loaded events are stamped uniformly over the last 28 days: the server takes 35 days back, and the week
    // left covers a long load; 672 hours give every customer's rollups many cells. The ingest phases use
    // --ingest-spread (28 days too unless asked otherwise).
    private const long SpreadSeconds = 28L * 24 * 3600;

    // A load request that fails in transit or with a 5xx is sent again with the same ids, so whatever the
    // failed attempt stored comes back as duplicates instead of being counted twice.
    private const int LoadRetries = 3;

    private const string EventName = "bench_llm";
    private const string TokensMeter = "bench_tokens";
    private const string BulkCustomerPrefix = "bench_mtr_";
    private const string QueryCustomerPrefix = "bench_mtrq_";

    // POST /v1/meters bodies: a sum grouped by model (the meter the usage targets query), a count and a
    // unique_count, all on the same event name, so every event feeds three meters.
    private static readonly (string Id, string Body)[] Meters =
    [
        (TokensMeter, $$"""{"id":"{{TokensMeter}}","name":"Bench tokens","event_name":"{{EventName}}","aggregation":"sum","value_property":"tokens","group_by":["model"]}"""),
        ("bench_requests", $$"""{"id":"bench_requests","name":"Bench requests","event_name":"{{EventName}}","aggregation":"count"}"""),
        ("bench_users", $$"""{"id":"bench_users","name":"Bench users","event_name":"{{EventName}}","aggregation":"unique_count","value_property":"user"}"""),
    ];

    public static Scenario Create(ScenarioSettings settings, bool ingest)
    {
        var endpoint = settings.Endpoint;
        var customers = settings.Customers;

        // Ids start with a tag of the run's start second: a second run against the same database sends
        // new ids, so its "new" events are not duplicates of the first run's.
        var run = Base36(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var ledger = new IdLedger();
        var store = new StoreTally();
        var querySeed = ledger.Add($"{run}-q-");
        var bulkSeed = new IdStream($"{run}-s-");
        var scenarioName = ingest ? "metering" : "metering_query";

        async Task Setup(ISetupDriver driver, CancellationToken cancel)
        {
            // Without the meters nothing is aggregated and every usage answer is empty, so a failure stops the
            // run. 409: an earlier run against the same database created them (same ids, same definitions).
            foreach (var (id, body) in Meters)
            {
                await Scenarios.Prerequisite(
                    driver,
                    new Batch(
                        "create_meter_" + id,
                        1,
                        Authenticated: true,
                        _ => Scenarios.Json(HttpMethod.Post, endpoint.For("/v1/meters"), body),
                        new StatusSet(201, 409)),
                    cancel);
            }

            // Customer c gets events c, c + 100, c + 200, …: exactly 1,000 each, interleaved across the batches.
            const long queryEvents = QueryCustomers * (long)EventsPerQueryCustomer;
            await LoadAsync(
                driver,
                LoadBatch(endpoint, "load_query_customers", querySeed, queryEvents, store,
                    (seq, _) => (QueryCustomerPrefix, (int)(seq % QueryCustomers))),
                cancel);

            // From now on ingest batches may repeat these ids: they are the "already sent" ids of its first batches.
            querySeed.MarkStored(queryEvents);
            await WaitForRollerAsync(endpoint, scenarioName, "roller_drain_query_customers", cancel);
        }

        // One range for every usage target: 30 whole UTC days ending at the next midnight, which covers the
        // 28 days of events whenever they were loaded today; window=day gives 30 windows, 29 with events.
        var today = DateTime.UtcNow.Date;
        var range = string.Create(
            CultureInfo.InvariantCulture,
            $"from={today.AddDays(-29):yyyy-MM-ddTHH:mm:ssZ}&to={today.AddDays(1):yyyy-MM-ddTHH:mm:ssZ}");
        IReadOnlyList<KeyValuePair<string, long>> State() => [new("events_stored", store.Events)];

        var targets = new List<Target> { UsageTarget(endpoint, "usage_small", range, QueryCustomerPrefix, QueryCustomers, State, settings.QueryWorkers) };
        var comparisons = new List<Comparison>();
        if (ingest)
        {
            // The real route first, then its twin, as in the entitlements scenario: both run on a store that
            // grows during the phases, the twin on the slightly larger one.
            targets.Add(IngestTarget(endpoint, "ingest", "/v1/meter_events/batch", $"{run}-i", settings, ledger, store, State));
            targets.Add(IngestTarget(endpoint, "ingest_baseline", "/v1/bench_baseline/meter_events/batch", $"{run}-b", settings, ledger, store, State));
            comparisons.Add(new Comparison("ingest", "ingest_baseline"));
        }

        if (settings.Events > 0)
        {
            if (settings.Events < 10L * customers)
            {
                // Poisson: with fewer than 10 events a customer, some customers get none (e^-10 of them at
                // 10), and their empty answers count as errors of usage_large_bulk.
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[run] warning: --events {settings.Events} is under 10 per customer (--customers {customers}); usage_large_bulk will find customers without events, which count as errors"));
            }

            // Customer of each loaded event: uniform over --customers.
            var load = LoadBatch(endpoint, "load_events", bulkSeed, settings.Events, store,
                (_, random) => (BulkCustomerPrefix, random.Next(customers)));
            targets.Add(UsageTarget(endpoint, "usage_large", range, QueryCustomerPrefix, QueryCustomers, State, settings.QueryWorkers) with
            {
                Before = async (driver, cancel) =>
                {
                    await LoadAsync(driver, load, cancel);
                    await WaitForRollerAsync(endpoint, scenarioName, "roller_drain_load_events", cancel);
                    if (settings.Settle > TimeSpan.Zero)
                    {
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"[setup] settling {settings.Settle.TotalSeconds:0}s without requests before the large-store targets"));
                        await Task.Delay(settings.Settle, cancel);
                    }
                },
            });

            // The same query on customers of the large load, whose rows were written interleaved with
            // everything else: what a typical customer of a large store gets.
            targets.Add(UsageTarget(endpoint, "usage_large_bulk", range, BulkCustomerPrefix, customers, State, settings.QueryWorkers));
            comparisons.Add(new Comparison("usage_large", "usage_small"));
            comparisons.Add(new Comparison("usage_large_bulk", "usage_small"));
        }

        return new Scenario(scenarioName, Setup, targets, comparisons);
    }

    /// <summary>
    /// A customer-month of the sum meter by day and model. An answer without data means the query found
    /// none of the loaded events (wrong range, lost rollups), so its cost would not be the real one: an error.
    /// </summary>
    private static Target UsageTarget(
        Endpoint endpoint, string name, string range, string customerPrefix, int customers, Func<IReadOnlyList<KeyValuePair<string, long>>> state,
        int workers)
    {
        var path = $"/v1/meters/{TokensMeter}/usage?window=day&group_by=model&{range}&customer_id={customerPrefix}";
        return new Target(
            name,
            Authenticated: true,
            (_, random) => new HttpRequestMessage(
                HttpMethod.Get,
                endpoint.For(path + random.Next(customers).ToString(CultureInfo.InvariantCulture))),
            new StatusSet(200),
            new BodyRule("\"data\":[]"))
        {
            State = state,
            Workers = workers,
        };
    }

    /// <summary>
    /// Batches of <see cref="BatchEvents"/> events from uniformly random customers, every
    /// <see cref="RepeatEvery"/>th with an id drawn uniformly from every id the server has already answered
    /// for (the setup's and those of every earlier batch of any worker), the rest with new ids.
    /// </summary>
    private static Target IngestTarget(
        Endpoint endpoint,
        string name,
        string path,
        string idPrefix,
        ScenarioSettings settings,
        IdLedger ledger,
        StoreTally store,
        Func<IReadOnlyList<KeyValuePair<string, long>>> state)
    {
        var uri = endpoint.For(path);
        var customers = settings.Customers;
        var spread = settings.IngestSpreadSeconds + 1;
        var streams = new IdStream[settings.Workers];
        for (var w = 0; w < streams.Length; w++)
        {
            streams[w] = ledger.Add(string.Create(CultureInfo.InvariantCulture, $"{idPrefix}{w}-"));
        }

        // New ids each worker has handed out; slot w is touched only by worker w.
        var handedOut = new long[settings.Workers];
        return new Target(
            name,
            Authenticated: true,
            (worker, random) =>
            {
                var own = streams[worker];

                // A worker has one request in flight: when it builds the next, every id it sent is answered.
                own.MarkStored(handedOut[worker]);
                var stored = ledger.Snapshot();
                var writer = new BatchWriter(BatchEvents);
                var now = DateTime.UtcNow;
                for (var k = 0; k < BatchEvents; k++)
                {
                    var timestamp = now.AddSeconds(-random.NextInt64(spread));
                    var customer = random.Next(customers);
                    if ((k + 1) % RepeatEvery == 0 && stored.TryPick(random, out var stream, out var seq))
                    {
                        writer.Event(stream.Prefix, seq, BulkCustomerPrefix, customer, timestamp, random);
                    }
                    else
                    {
                        writer.Event(own.Prefix, handedOut[worker]++, BulkCustomerPrefix, customer, timestamp, random);
                    }
                }

                return Post(uri, writer);
            },
            new StatusSet(202))
        {
            Reader = store.Read,
            ItemName = "events",
            State = state,
            Grace = IngestGrace,
        };
    }

    /// <summary>
    /// Loads <paramref name="events"/> new events (ids <paramref name="ids"/> 0, 1, …) through the normal
    /// batch route, in batches of <see cref="BatchEvents"/>, with progress in events stored, rate and ETA.
    /// <paramref name="customerOf"/> names the customer of event <c>seq</c>.
    /// </summary>
    private static Batch LoadBatch(
        Endpoint endpoint, string name, IdStream ids, long events, StoreTally store, Func<long, Random, (string Prefix, int Customer)> customerOf)
    {
        var uri = endpoint.For("/v1/meter_events/batch");
        var requests = checked((int)((events + BatchEvents - 1) / BatchEvents));
        return new Batch(
            name,
            requests,
            Authenticated: true,
            i =>
            {
                // Seeded by the index, so a retry sends the same events (only the clock moves on).
                var random = new Random(i);
                var first = (long)i * BatchEvents;
                var count = (int)Math.Min(BatchEvents, events - first);
                var writer = new BatchWriter(count);
                var now = DateTime.UtcNow;
                for (var k = 0; k < count; k++)
                {
                    var seq = first + k;
                    var (prefix, customer) = customerOf(seq, random);
                    writer.Event(ids.Prefix, seq, prefix, customer, now.AddSeconds(-random.NextInt64(SpreadSeconds)), random);
                }

                return Post(uri, writer);
            },
            new StatusSet(202))
        {
            Reader = store.Read,
            Items = events,
            ItemName = "events",
            Retries = LoadRetries,
            Workers = LoadWorkers,
        };
    }

    /// <summary>
    /// Runs a load and stops the run unless every event is on the server: the usage figures are only
    /// worth something at the store size they claim.
    /// </summary>
    private static async Task LoadAsync(ISetupDriver driver, Batch batch, CancellationToken cancel)
    {
        var result = await driver.RunBatchAsync(batch, cancel);
        var stored = result.Items?.Offered ?? 0;
        if (result.Errors.Total > 0 || stored != batch.Items)
        {
            throw new SetupFailedException(
                $"setup step {batch.Name} failed: {stored} of {batch.Items} events stored, {result.Errors.Total} of {batch.Count} requests failed; see the errors lines above");
        }
    }

    // The usage targets measure a store at rest: rollups folded up to the newest event, as in steady
    // operation. A load at full speed with events spread over 28 days outruns the roller (every event is
    // a cell of its own), and until the roller catches up usage reads the customer's unfolded events raw
    // (exact, but tens of milliseconds at 10M events); the wait is reported, so is the lag it ends.
    private static readonly TimeSpan RollerDrainMax = TimeSpan.FromMinutes(60);
    private static readonly TimeSpan RollerStatusRefresh = TimeSpan.FromSeconds(6); // the server refreshes its gauge every 5 s
    private const string RollerLagMetric = "kassa_meter_roller_lag_seconds";

    /// <summary>
    /// Waits until the server's roller has folded everything loaded: <c>kassa_meter_roller_lag_seconds</c>
    /// at 0 on /metrics, read once the gauge has been refreshed after the load. Prints progress every 10 s
    /// and one <c>[bench] setup … batch=NAME</c> line with the time it took; gives up (with a warning, and
    /// <c>drained=no</c>) after <see cref="RollerDrainMax"/> or when the server has no such gauge.
    /// </summary>
    private static async Task WaitForRollerAsync(Endpoint endpoint, string scenario, string name, CancellationToken cancel)
    {
        using var client = new HttpClient { Timeout = BenchHttp.RequestTimeout };
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(RollerStatusRefresh, cancel);
        var lastReport = TimeSpan.Zero;
        double? lag;
        while (true)
        {
            lag = await ReadRollerLagAsync(client, endpoint, cancel);
            if (lag is null)
            {
                Console.Error.WriteLine($"[setup] warning: /metrics has no {RollerLagMetric}; not waiting for the roller");
                break;
            }
            if (lag == 0 || started.Elapsed >= RollerDrainMax) break;
            if (started.Elapsed - lastReport >= TimeSpan.FromSeconds(10))
            {
                lastReport = started.Elapsed;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[setup] {name}: roller lag {lag:0.0}s, waited {started.Elapsed.TotalSeconds:0}s"));
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancel);
        }
        var drained = lag == 0;
        if (lag is not null && !drained)
            Console.Error.WriteLine($"[setup] warning: the roller was still {lag:0.0}s behind after {RollerDrainMax.TotalMinutes:0} minutes; measuring anyway");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[bench] setup scenario={scenario} batch={name} elapsed={started.Elapsed.TotalSeconds:0.0}s drained={(drained ? "yes" : "no")}"));
    }

    /// <summary>
    /// The value of <see cref="RollerLagMetric"/> on the server's /metrics — or, on SQLite, the larger of it and the
    /// event indexer's lag (<see cref="IndexerLagMetric"/>: usage reads the events it has not indexed by position) —
    /// or null when the roller's gauge is not there.
    /// </summary>
    private static async Task<double?> ReadRollerLagAsync(HttpClient client, Endpoint endpoint, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint.For("/metrics"));
        BenchHttp.Prepare(request, authorization: null);
        using var response = await client.SendAsync(request, cancel);
        if (!response.IsSuccessStatusCode) return null;
        var lines = (await response.Content.ReadAsStringAsync(cancel)).Split('\n');
        return Gauge(lines, RollerLagMetric) is { } roller ? Math.Max(roller, Gauge(lines, IndexerLagMetric) ?? 0) : null;
    }

    private const string IndexerLagMetric = "kassa_meter_indexer_lag_seconds";

    private static double? Gauge(string[] lines, string name)
    {
        foreach (var line in lines)
        {
            // "name{labels} value" or "name value"; not another metric whose name starts the same.
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' '
                && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                return value;
        }
        return null;
    }

    private static HttpRequestMessage Post(Uri uri, BatchWriter writer) =>
        new(HttpMethod.Post, uri) { Content = writer.Finish() };

    private static string Base36(long value)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = new StringBuilder();
        do
        {
            text.Insert(0, digits[(int)(value % 36)]);
            value /= 36;
        }
        while (value > 0);
        return text.ToString();
    }

    /// <summary>
    /// Reads a <c>meter_event_batch</c> answer (<c>{"accepted":n,"duplicates":m,"rejected":[…]}</c>) and
    /// keeps the running total of events stored in this run, which the targets report as <c>events_stored</c>.
    /// </summary>
    private sealed class StoreTally
    {
        private long events;

        /// <summary>Events the server stored for the first time in this run, so far.</summary>
        public long Events => Volatile.Read(ref events);

        public bool Read(ReadOnlySpan<byte> body, out ItemCounts counts)
        {
            if (!TryReadAnswer(body, out counts))
            {
                return false;
            }

            Interlocked.Add(ref events, counts.Accepted);
            return true;
        }

        private static bool TryReadAnswer(ReadOnlySpan<byte> body, out ItemCounts counts)
        {
            counts = default;
            long? accepted = null;
            long? duplicates = null;
            long? rejected = null;
            var isBatch = false;
            var reader = new Utf8JsonReader(body);
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("object"u8))
                    {
                        reader.Read();
                        isBatch = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("meter_event_batch"u8);
                    }
                    else if (reader.ValueTextEquals("accepted"u8))
                    {
                        reader.Read();
                        accepted = reader.GetInt64();
                    }
                    else if (reader.ValueTextEquals("duplicates"u8))
                    {
                        reader.Read();
                        duplicates = reader.GetInt64();
                    }
                    else if (reader.ValueTextEquals("rejected"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartArray)
                        {
                            return false;
                        }

                        long n = 0;
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            n++;
                            reader.Skip();
                        }

                        rejected = n;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                return false;
            }

            if (!isBatch || accepted is not { } a || duplicates is not { } d || rejected is not { } r)
            {
                return false;
            }

            counts = new ItemCounts(a, d, r);
            return true;
        }
    }

    /// <summary>
    /// One sender's ids: <see cref="Prefix"/> followed by 0, 1, 2, …; those below <see cref="Stored"/> are
    /// known to have been answered by the server. Written by its one sender, read by all.
    /// </summary>
    private sealed class IdStream(string prefix)
    {
        private long stored;

        public byte[] Prefix { get; } = Encoding.ASCII.GetBytes(prefix);

        public long Stored => Volatile.Read(ref stored);

        public void MarkStored(long count) => Volatile.Write(ref stored, count);
    }

    /// <summary>
    /// Every id stream of the run, to draw repeated ids from. All streams are added while the scenario is
    /// built, before any request, so the list is read by the workers without a lock.
    /// </summary>
    private sealed class IdLedger
    {
        private readonly List<IdStream> streams = [];

        public IdStream Add(string prefix)
        {
            var stream = new IdStream(prefix);
            streams.Add(stream);
            return stream;
        }

        /// <summary>How many ids each stream has stored right now, to draw a batch's repeats from.</summary>
        public Snapshot Snapshot()
        {
            var cumulative = new long[streams.Count];
            long total = 0;
            for (var i = 0; i < streams.Count; i++)
            {
                total += streams[i].Stored;
                cumulative[i] = total;
            }

            return new Snapshot(streams, cumulative);
        }
    }

    /// <summary>The stored ids of every stream at one moment, as running totals for a uniform draw.</summary>
    private sealed class Snapshot(List<IdStream> streams, long[] cumulative)
    {
        /// <summary>Draws one stored id uniformly; false when nothing is stored yet.</summary>
        public bool TryPick(Random random, out IdStream stream, out long seq)
        {
            var total = cumulative.Length == 0 ? 0 : cumulative[^1];
            if (total == 0)
            {
                stream = null!;
                seq = 0;
                return false;
            }

            var r = random.NextInt64(total);

            // The first stream whose running total passes r holds it.
            var lo = 0;
            var hi = cumulative.Length - 1;
            while (lo < hi)
            {
                var mid = (lo + hi) / 2;
                if (cumulative[mid] > r)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            stream = streams[lo];
            seq = r - (lo == 0 ? 0 : cumulative[lo - 1]);
            return true;
        }
    }

    /// <summary>
    /// Writes a <c>{"events":[…]}</c> body straight into a pooled array. A batch is about 200 KB and the
    /// generator shares two cores with the server, so no serializer and no strings; pooling keeps the
    /// bodies off the large-object heap, which would otherwise be collected only by full collections.
    /// </summary>
    private sealed class BatchWriter
    {
        // The longest event written here is under 300 bytes (short ids and customer ids, properties of a
        // fixed shape); the margin turns a mistake into an exception rather than a cut body.
        private const int EventBytesMax = 400;

        private static readonly byte[][] Models = [.. new[] { "gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "llama-3.1-70b" }.Select(Encoding.ASCII.GetBytes)];
        private static readonly byte[][] Regions = [.. new[] { "eu-central-1", "us-east-1", "ap-southeast-2" }.Select(Encoding.ASCII.GetBytes)];

        private readonly byte[] buffer;
        private int length;
        private int events;

        public BatchWriter(int count)
        {
            buffer = ArrayPool<byte>.Shared.Rent(count * EventBytesMax + 16);
            Raw("{\"events\":["u8);
        }

        /// <summary>
        /// One event, about 100 bytes of properties: a model of 4, 1 to 5,000 tokens, a user of 50 (the
        /// unique_count meter's value), a region of 3 and a flag.
        /// </summary>
        public void Event(ReadOnlySpan<byte> idPrefix, long seq, string customerPrefix, int customer, DateTime timestamp, Random random)
        {
            if (events++ > 0)
            {
                Raw(","u8);
            }

            Raw("{\"id\":\""u8);
            Raw(idPrefix);
            Number(seq);
            Raw("\",\"event_name\":\""u8);
            Raw(EventNameBytes);
            Raw("\",\"customer_id\":\""u8);
            Ascii(customerPrefix);
            Number(customer);
            Raw("\",\"timestamp\":\""u8);
            if (!timestamp.TryFormat(buffer.AsSpan(length), out var written, "s", CultureInfo.InvariantCulture))
            {
                throw Full();
            }

            length += written;
            Raw("Z\",\"properties\":{\"model\":\""u8);
            Raw(Models[random.Next(Models.Length)]);
            Raw("\",\"tokens\":"u8);
            Number(1 + random.Next(5000));
            Raw(",\"user\":\"user_"u8);
            Number(random.Next(50));
            Raw("\",\"region\":\""u8);
            Raw(Regions[random.Next(Regions.Length)]);
            Raw(random.Next(2) == 0 ? "\",\"stream\":false}}"u8 : "\",\"stream\":true}}"u8);
        }

        /// <summary>Closes the body and hands the array to the request's content, which returns it to the pool.</summary>
        public HttpContent Finish()
        {
            Raw("]}"u8);
            return new PooledJsonContent(buffer, length);
        }

        private static readonly byte[] EventNameBytes = Encoding.ASCII.GetBytes(EventName);

        private void Raw(ReadOnlySpan<byte> bytes)
        {
            if (!bytes.TryCopyTo(buffer.AsSpan(length)))
            {
                throw Full();
            }

            length += bytes.Length;
        }

        private void Ascii(string text)
        {
            if (text.Length > buffer.Length - length)
            {
                throw Full();
            }

            length += Encoding.ASCII.GetBytes(text, buffer.AsSpan(length));
        }

        private void Number(long value)
        {
            if (!value.TryFormat(buffer.AsSpan(length), out var written, default, CultureInfo.InvariantCulture))
            {
                throw Full();
            }

            length += written;
        }

        private static InvalidOperationException Full() =>
            new($"an event batch outgrew its buffer ({EventBytesMax} bytes an event); an event is longer than this writer assumes");
    }

    /// <summary>
    /// <c>application/json</c> content over a pooled array, returned to the pool when the request is
    /// disposed (the runner disposes every request once its answer is read).
    /// </summary>
    private sealed class PooledJsonContent : HttpContent
    {
        private readonly int length;
        private byte[]? buffer;

        public PooledJsonContent(byte[] buffer, int length)
        {
            this.buffer = buffer;
            this.length = length;

            // Exactly "application/json", as the other scenarios send it.
            Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            stream.WriteAsync(Bytes(), cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = this.length;
            return true;
        }

        protected override Task<Stream> CreateContentReadStreamAsync() =>
            Task.FromResult<Stream>(new MemoryStream(Bytes().ToArray(), writable: false));

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref buffer, null) is { } array)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            base.Dispose(disposing);
        }

        private ReadOnlyMemory<byte> Bytes() =>
            (buffer ?? throw new ObjectDisposedException(nameof(PooledJsonContent))).AsMemory(0, length);
    }
}
