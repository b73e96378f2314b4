using System.Globalization;
using System.Text;

namespace Kassa.Bench;

/// <summary>
/// Builds the request for one iteration of one worker. It runs on the hot path, so it should allocate
/// only what the request itself needs; <paramref name="random"/> belongs to the worker and is not shared.
/// </summary>
internal delegate HttpRequestMessage RequestFactory(int worker, Random random);

/// <summary>The HTTP statuses that count as success for a target or a setup batch.</summary>
internal sealed class StatusSet
{
    // Indexed by status so the check per response is one array read.
    private readonly bool[] expected = new bool[1000];

    public StatusSet(params int[] statuses)
    {
        if (statuses.Length == 0)
        {
            throw new ArgumentException("at least one expected status", nameof(statuses));
        }

        foreach (var status in statuses)
        {
            expected[status] = true;
        }

        Statuses = statuses;
    }

    public IReadOnlyList<int> Statuses { get; }

    public bool Contains(int status) => (uint)status < expected.Length && expected[status];
}

/// <summary>
/// A byte string that must not occur in the body of an answer with an expected status: a 200 that says
/// "no" (<c>"allowed":false</c>) is a failure of the operation even though HTTP succeeded. A plain byte
/// search, not a JSON parse, so it costs next to nothing per response.
/// </summary>
internal sealed class BodyRule
{
    // The runner keeps the last Length - 1 bytes of each read to find a marker split across reads; a
    // short marker keeps that carry-over far below the read buffer.
    public const int MaxMarkerBytes = 256;

    public BodyRule(string marker)
    {
        var bytes = Encoding.UTF8.GetBytes(marker);
        if (bytes.Length is 0 or > MaxMarkerBytes)
        {
            throw new ArgumentException($"a body marker is 1..{MaxMarkerBytes} UTF-8 bytes", nameof(marker));
        }

        Marker = bytes;
        Kind = "body " + marker;
    }

    /// <summary>The bytes searched for; never modified.</summary>
    public byte[] Marker { get; }

    /// <summary>The error kind counted when it is found, e.g. <c>body "allowed":false</c>.</summary>
    public string Kind { get; }
}

/// <summary>
/// What an answer says about the items its request carried, e.g. the events of a meter event batch:
/// stored for the first time, already stored (a repeated id), refused.
/// </summary>
internal readonly record struct ItemCounts(long Accepted, long Duplicates, long Rejected)
{
    /// <summary>Items the server took, new or repeated: what the client offered minus refusals.</summary>
    public long Offered => Accepted + Duplicates;

    public static ItemCounts operator +(ItemCounts a, ItemCounts b) =>
        new(a.Accepted + b.Accepted, a.Duplicates + b.Duplicates, a.Rejected + b.Rejected);
}

/// <summary>
/// Reads the item counts out of the body of an answer with an expected status. False when the body is
/// not the answer it should be (counted as an error). Called for every such answer of the target or
/// batch, inside the measured window or not, so a reader may also keep its own running total.
/// </summary>
internal delegate bool AnswerReader(ReadOnlySpan<byte> body, out ItemCounts counts);

/// <summary>
/// One measured endpoint: each target gets its own warm-up and timed phase, and its own report line.
/// Authenticated targets get the bearer key added by the runner, so factories never see the key.
/// With a <paramref name="Reject"/> rule, an expected status whose body holds the marker is an error.
/// </summary>
internal sealed record Target(string Name, bool Authenticated, RequestFactory Build, StatusSet Expected, BodyRule? Reject = null)
{
    /// <summary>
    /// Set for requests that carry many items (meter event batches): each answer's body is read whole and
    /// its counts become the phase's item figures (events/s next to requests/s). An answer that refuses
    /// any item is an error: the generator only sends valid items.
    /// </summary>
    public AnswerReader? Reader { get; init; }

    /// <summary>What the report calls the reader's items ("events").</summary>
    public string ItemName { get; init; } = "items";

    /// <summary>
    /// How long requests still in flight when the window closes may finish before they are cancelled,
    /// if not the runner's default. Longer for requests the server completes even when the client gives up
    /// (an event batch is written whole once started): cut short, they would still load the server
    /// during the next phase. At most <see cref="BenchHttp.RequestTimeout"/>, after which no request waits.
    /// </summary>
    public TimeSpan? Grace { get; init; }

    /// <summary>
    /// Facts about the server's state the figures depend on (e.g. <c>events_stored</c>), taken when the
    /// phase starts and printed with its figures, so a line says what it was measured against.
    /// </summary>
    public Func<IReadOnlyList<KeyValuePair<string, long>>>? State { get; init; }

    /// <summary>
    /// A setup step that must run right before this target's phase rather than before all of them, e.g.
    /// loading a large store after the targets that need a small one. It may throw
    /// <see cref="SetupFailedException"/>, which ends the run (the phases measured so far are kept).
    /// </summary>
    public Func<ISetupDriver, CancellationToken, Task>? Before { get; init; }

    /// <summary>Workers of this target's phase, if fewer than the run's (0: the run's).</summary>
    public int Workers { get; init; }

    /// <summary>
    /// Set when an expected status is not enough: each answer's body is read whole and given to it, and a
    /// non-null result is the error kind to count (e.g. <c>body status requires_action</c>). Unlike
    /// <see cref="Reject"/> it can demand what a body must say, not only what it must not.
    /// </summary>
    public BodyCheck? Check { get; init; }

    /// <summary>
    /// Asked once the phase is measured and printed: a non-null message says the phase did not measure
    /// what it should (e.g. it used up the rows its setup made), and the run stops with exit code 3 after
    /// printing it (the phases measured so far are kept).
    /// </summary>
    public Func<string?>? After { get; init; }
}

/// <summary>
/// Judges the body of an answer with an expected status: null when it is the answer the target wants,
/// otherwise the error kind to count. Called from several workers at once, so it must be thread-safe;
/// it should return one of a few fixed strings, since every distinct kind is a line of the breakdown.
/// </summary>
internal delegate string? BodyCheck(ReadOnlySpan<byte> body);

/// <summary>
/// Two targets of the same scenario to set side by side once both are measured: <paramref name="Target"/>
/// and the implementation it is meant to beat (<paramref name="Versus"/>), e.g. the group-committed check
/// and its one-transaction-per-request twin. Reported as <c>speedup = Target rps / Versus rps</c>.
/// </summary>
internal sealed record Comparison(string Target, string Versus);

/// <summary>
/// Requests a scenario's setup sends exactly once each (request <c>i</c> for i in [0, Count)), spread
/// over the workers. Used to create the rows the targets then read and update. <paramref name="Build"/>
/// is called from several workers at once, so it must be thread-safe.
/// </summary>
internal sealed record Batch(string Name, int Count, bool Authenticated, Func<int, HttpRequestMessage> Build, StatusSet Expected)
{
    /// <summary>
    /// Set when each answer reports how many items it stored (see <see cref="Target.Reader"/>). Progress
    /// is then printed in items, with rate and ETA, every <see cref="ItemProgressEvery"/>, instead of
    /// every 10 % of the requests.
    /// </summary>
    public AnswerReader? Reader { get; init; }

    /// <summary>The items all requests carry together, for the progress lines; 0 without a reader.</summary>
    public long Items { get; init; }

    /// <summary>What the progress lines call the items ("events").</summary>
    public string ItemName { get; init; } = "items";

    /// <summary>
    /// At most this many requests in flight (0: one per worker of the run). For loads into a store with
    /// one writer, where more in flight only queue and wait.
    /// </summary>
    public int Workers { get; init; }

    /// <summary>
    /// How often a request that failed in transit or with a 5xx or 429 is sent again before it counts as
    /// an error (at most <see cref="MaxRetries"/>). Only for requests that are safe to repeat, such as
    /// event batches with fixed ids: <see cref="Build"/> must return the same request for the same index.
    /// </summary>
    public int Retries
    {
        get;
        init => field = value is >= 0 and <= MaxRetries
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Retries), value, $"0..{MaxRetries}");
    }

    /// <summary>A long load should survive a hiccup; past a few tries the server is not hiccuping.</summary>
    public const int MaxRetries = 5;

    /// <summary>How often a long item batch reports progress: often enough to see it move, rare enough to read.</summary>
    public static readonly TimeSpan ItemProgressEvery = TimeSpan.FromSeconds(10);
}

/// <summary>Counts of one setup batch, for the report; <paramref name="Items"/> only for batches with a reader.</summary>
internal sealed record BatchResult(string Name, int Count, TimeSpan Elapsed, ErrorTally Errors, ItemCounts? Items = null);

/// <summary>What a scenario's setup may use: sending batches (with progress and error counts).</summary>
internal interface ISetupDriver
{
    Task<BatchResult> RunBatchAsync(Batch batch, CancellationToken cancel);
}

/// <summary>
/// A scenario: an optional setup, then its targets measured one after another, then the comparisons
/// between pairs of its targets (none by default).
/// </summary>
internal sealed record Scenario(
    string Name,
    Func<ISetupDriver, CancellationToken, Task>? Setup,
    IReadOnlyList<Target> Targets,
    IReadOnlyList<Comparison>? Comparisons = null);

/// <summary>
/// Thrown by a setup when a step every target depends on failed (e.g. the product the customers get
/// their balance from): measuring would only time error answers, so the run stops instead.
/// </summary>
internal sealed class SetupFailedException(string message) : Exception(message);

/// <summary>The parameters scenario factories may read.</summary>
internal sealed record ScenarioSettings(Endpoint Endpoint, int Customers, int Workers, long Events, int QueryWorkers, long IngestSpreadSeconds, TimeSpan Settle)
{
    /// <summary>The run's measured time per target, for scenarios that size their setup by it.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The run's unrecorded time before each target.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Subscribe: the subscribes per second the customer pool is sized for.</summary>
    public int SubscribeRate { get; init; } = BenchOptions.DefaultSubscribeRate;
}

/// <summary>Catalog entry: a scenario's name, what it does, and how to build it.</summary>
internal sealed record ScenarioInfo(string Name, string Description, bool RequiresKey, Func<ScenarioSettings, Scenario> Create);

/// <summary>Turns paths into absolute URIs under the server's base URL.</summary>
internal sealed class Endpoint(Uri baseUrl)
{
    private readonly string root = baseUrl.AbsoluteUri.TrimEnd('/');

    public Uri BaseUrl => baseUrl;

    public Uri For(string pathAndQuery) => new(root + pathAndQuery, UriKind.Absolute);
}

/// <summary>
/// The scenario catalog. Adding one means: a method that returns a <see cref="Scenario"/> and a line in
/// <see cref="All"/>.
/// </summary>
internal static class Scenarios
{
    public static readonly IReadOnlyList<ScenarioInfo> All =
    [
        new("healthz", "GET /healthz without auth: the ceiling every other target is compared with", false, Healthz),
        new("customers", "setup creates --customers customers; targets put_customer (update, 200) and get_customer (200)", true, Customers),
        new(
            "credit_grants",
            "setup creates a metered feature and --customers customers; targets put_customer (update, 200) and post_credit_grant (a paid grant of 10 to a random customer, 201): two ordinary group-committed mutations (ADR 0010)",
            true,
            CreditGrants),
        new(
            "entitlements",
            "setup creates a metered feature, an auto-enabled product and --customers customers; targets check/track, uniform and hot, each against its one-transaction /v1/bench_baseline twin",
            true,
            Entitlements),
        new(
            "metering",
            "setup creates 3 meters and a small store; targets usage_small, ingest (1,000-event batches, 20 % repeated ids) against its one-transaction-per-event twin, then with --events N > 0 loads N events and measures usage_large and usage_large_bulk",
            true,
            settings => Metering.Create(settings, ingest: true)),
        new(
            "metering_query",
            "the query part of metering alone: usage_small, then (--events N > 0) load N events, usage_large and usage_large_bulk",
            true,
            settings => Metering.Create(settings, ingest: false)),
        new(
            "subscribe",
            "setup creates a paid product (2000/month) and a pool of customers with a saved 4242 card sized by --duration/--warmup/--workers; target subscribe_paid (each request a fresh customer, 200 with status active)",
            true,
            SubscribeScenario.Create),
    ];

    /// <summary>The customer every hot target hits: all its requests contend for one balance row.</summary>
    public const string HotCustomer = "bench_ent_0";

    private const string EntitlementFeature = "api_calls";

    public static ScenarioInfo? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>
    /// The baseline: an unauthenticated GET of a path that does no storage work, so it measures HTTP
    /// and the machine. Named after the path ("/healthz" → "healthz").
    /// </summary>
    public static Target Baseline(Endpoint endpoint, string path)
    {
        var name = path.Trim('/').Replace('/', '_');
        return PlainGet(endpoint, name.Length == 0 ? "root" : name, path);
    }

    private static Scenario Healthz(ScenarioSettings settings) =>
        new("healthz", null, [PlainGet(settings.Endpoint, "healthz", "/healthz")]);

    private static Scenario Customers(ScenarioSettings settings)
    {
        var endpoint = settings.Endpoint;
        var count = settings.Customers;

        Task Setup(ISetupDriver driver, CancellationToken cancel) => driver.RunBatchAsync(
            new Batch(
                "create_customers",
                count,
                Authenticated: true,
                i => Json(
                    HttpMethod.Put,
                    endpoint.For(CustomerPath(i)),
                    string.Create(CultureInfo.InvariantCulture, $$"""{"name":"Bench {{i}}","email":"bench{{i}}@example.com"}""")),
                // 201 for a new customer, 200 if an earlier run against the same database made it already.
                new StatusSet(200, 201)),
            cancel);

        var put = PutCustomer(endpoint, count);

        var get = new Target(
            "get_customer",
            Authenticated: true,
            (_, random) => new HttpRequestMessage(HttpMethod.Get, endpoint.For(CustomerPath(random.Next(count)))),
            new StatusSet(200));

        return new Scenario("customers", Setup, [put, get]);
    }

    /// <summary>A customer update that changes a field (its metadata), on a random customer of the setup's.</summary>
    private static Target PutCustomer(Endpoint endpoint, int count) => new(
        "put_customer",
        Authenticated: true,
        (_, random) =>
        {
            var i = random.Next(count);
            return Json(
                HttpMethod.Put,
                endpoint.For(CustomerPath(i)),
                string.Create(CultureInfo.InvariantCulture, $$$"""{"name":"Bench {{{i}}}","metadata":{"n":"{{{random.Next()}}}"}}"""));
        },
        new StatusSet(200));

    private const string GrantFeature = "bench_credits";

    /// <summary>
    /// Two ordinary mutations side by side: a customer update and a credit grant (a bucket, a movement, an
    /// audit record and an event per request), each on a random customer so rows spread out.
    /// </summary>
    private static Scenario CreditGrants(ScenarioSettings settings)
    {
        var endpoint = settings.Endpoint;
        var count = settings.Customers;

        async Task Setup(ISetupDriver driver, CancellationToken cancel)
        {
            // The feature is a prerequisite: without it every grant fails. 409: an earlier run made it already.
            await Prerequisite(
                driver,
                new Batch(
                    "create_feature",
                    1,
                    Authenticated: true,
                    _ => Json(HttpMethod.Post, endpoint.For("/v1/features"), $$"""{"id":"{{GrantFeature}}","name":"Bench credits","type":"metered"}"""),
                    new StatusSet(201, 409)),
                cancel);
            await driver.RunBatchAsync(
                new Batch(
                    "create_customers",
                    count,
                    Authenticated: true,
                    i => Json(
                        HttpMethod.Put,
                        endpoint.For(CustomerPath(i)),
                        string.Create(CultureInfo.InvariantCulture, $$"""{"name":"Bench {{i}}","email":"bench{{i}}@example.com"}""")),
                    new StatusSet(200, 201)),
                cancel);
        }

        var grant = new Target(
            "post_credit_grant",
            Authenticated: true,
            (_, random) => Json(
                HttpMethod.Post,
                endpoint.For("/v1/credit_grants"),
                string.Create(CultureInfo.InvariantCulture, $$"""{"customer_id":"bench_cus_{{random.Next(count)}}","feature_id":"{{GrantFeature}}","amount":10,"category":"paid"}""")),
            new StatusSet(201));

        return new Scenario("credit_grants", Setup, [PutCustomer(endpoint, count), grant]);
    }

    /// <summary>
    /// Balance checks and usage tracking, the hot path of metering. Each operation is measured on a random
    /// customer (uniform: rows spread out, throughput bound by the engine's commit path) and on one customer
    /// (hot: every request contends for the same balance row), and each of those against its twin under
    /// <c>/v1/bench_baseline/</c>, which does the same work in one database transaction per request (the
    /// server maps those routes only with <c>KASSA_BENCH_ROUTES=1</c>). The twins run in the same process,
    /// right after, so their ratio (the speedup) compares the two implementations on the same machine state.
    /// </summary>
    private static Scenario Entitlements(ScenarioSettings settings)
    {
        var endpoint = settings.Endpoint;
        var count = settings.Customers;

        async Task Setup(ISetupDriver driver, CancellationToken cancel)
        {
            // The feature and product are prerequisites: without them every check fails, so a failure stops
            // the run. 409 means an earlier run against the same database created them already, which is fine
            // as long as it was created with these settings (same ids, same script).
            await Prerequisite(
                driver,
                new Batch(
                    "create_feature",
                    1,
                    Authenticated: true,
                    _ => Json(
                        HttpMethod.Post,
                        endpoint.For("/v1/features"),
                        $$"""{"id":"{{EntitlementFeature}}","name":"API calls","type":"metered"}"""),
                    new StatusSet(201, 409)),
                cancel);

            // auto_enable: every customer created afterwards gets the balance, so the customers come after it.
            // A billion included with overage allowed: no target can run out, so "allowed":false is a bug.
            await Prerequisite(
                driver,
                new Batch(
                    "create_product",
                    1,
                    Authenticated: true,
                    _ => Json(
                        HttpMethod.Post,
                        endpoint.For("/v1/products"),
                        $$"""{"id":"bench_free","name":"Bench","auto_enable":true,"features":[{"feature_id":"{{EntitlementFeature}}","included":1000000000,"reset":"month","overage":"allowed"}]}"""),
                    new StatusSet(201, 409)),
                cancel);

            await driver.RunBatchAsync(
                new Batch(
                    "create_customers",
                    count,
                    Authenticated: true,
                    i => Json(
                        HttpMethod.Put,
                        endpoint.For(string.Create(CultureInfo.InvariantCulture, $"/v1/customers/{EntitlementCustomer(i)}")),
                        string.Create(CultureInfo.InvariantCulture, $$"""{"name":"Bench entitlements {{i}}"}""")),
                    // 201 for a new customer, 200 if an earlier run against the same database made it already.
                    new StatusSet(200, 201)),
                cancel);
        }

        // A check that answers 200 with "allowed":false did not do what was asked (nothing was deducted).
        var denied = new BodyRule("\"allowed\":false");
        var targets = new List<Target>();
        var comparisons = new List<Comparison>();
        foreach (var (operation, rule) in new[] { ("check", denied), ("track", (BodyRule?)null) })
        {
            foreach (var hot in new[] { false, true })
            {
                var name = operation + (hot ? "_hot" : "_uniform");
                targets.Add(EntitlementTarget(endpoint, name, "/v1/" + operation, operation, hot, count, rule));
                targets.Add(EntitlementTarget(endpoint, name + "_baseline", "/v1/bench_baseline/" + operation, operation, hot, count, rule));
                comparisons.Add(new Comparison(name, name + "_baseline"));
            }
        }

        return new Scenario("entitlements", Setup, targets, comparisons);
    }

    /// <summary>Runs a one-off setup batch and stops the run (exit 3) if any of its requests failed.</summary>
    internal static async Task Prerequisite(ISetupDriver driver, Batch batch, CancellationToken cancel)
    {
        var result = await driver.RunBatchAsync(batch, cancel);
        if (result.Errors.Total > 0)
        {
            throw new SetupFailedException(
                $"setup step {batch.Name} failed ({result.Errors.Total} of {batch.Count} requests answered outside {string.Join("/", batch.Expected.Statuses)}); see the errors line above");
        }
    }

    /// <summary>
    /// A check (required 1, with the event: it deducts) or a track of 1, on a random customer or on
    /// <see cref="HotCustomer"/>. The hot body never changes, so it is encoded once and shared.
    /// </summary>
    private static Target EntitlementTarget(
        Endpoint endpoint, string name, string path, string operation, bool hot, int customers, BodyRule? reject)
    {
        var uri = endpoint.For(path);
        Func<string, string> body = operation == "check"
            ? customer => $$"""{"customer_id":"{{customer}}","feature_id":"{{EntitlementFeature}}","required_balance":1,"send_event":true}"""
            : customer => $$"""{"customer_id":"{{customer}}","feature_id":"{{EntitlementFeature}}","value":1}""";
        RequestFactory build;
        if (hot)
        {
            // ByteArrayContent only reads its array, so one array can back every request of every worker.
            var bytes = Encoding.UTF8.GetBytes(body(HotCustomer));
            build = (_, _) => Json(HttpMethod.Post, uri, bytes);
        }
        else
        {
            build = (_, random) => Json(HttpMethod.Post, uri, body(EntitlementCustomer(random.Next(customers))));
        }

        return new Target(name, Authenticated: true, build, new StatusSet(200), reject);
    }

    private static string EntitlementCustomer(int i) => string.Create(CultureInfo.InvariantCulture, $"bench_ent_{i}");

    private static string CustomerPath(int i) => string.Create(CultureInfo.InvariantCulture, $"/v1/customers/bench_cus_{i}");

    private static Target PlainGet(Endpoint endpoint, string name, string path)
    {
        // One Uri for every request: it is immutable, so sharing it across workers is safe and saves a parse.
        var uri = endpoint.For(path);
        return new Target(name, Authenticated: false, (_, _) => new HttpRequestMessage(HttpMethod.Get, uri), new StatusSet(200));
    }

    internal static HttpRequestMessage Json(HttpMethod method, Uri uri, string body) =>
        Json(method, uri, Encoding.UTF8.GetBytes(body));

    internal static HttpRequestMessage Json(HttpMethod method, Uri uri, byte[] body)
    {
        var content = new ByteArrayContent(body);

        // Exactly "application/json" (StringContent would append "; charset=utf-8"); unvalidated add skips a parse.
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        return new HttpRequestMessage(method, uri) { Content = content };
    }
}
