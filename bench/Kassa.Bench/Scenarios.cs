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
/// One measured endpoint: each target gets its own warm-up and timed phase, and its own report line.
/// Authenticated targets get the bearer key added by the runner, so factories never see the key.
/// </summary>
internal sealed record Target(string Name, bool Authenticated, RequestFactory Build, StatusSet Expected);

/// <summary>
/// Requests a scenario's setup sends exactly once each (request <c>i</c> for i in [0, Count)), spread
/// over the workers. Used to create the rows the targets then read and update.
/// </summary>
internal sealed record Batch(string Name, int Count, bool Authenticated, Func<int, HttpRequestMessage> Build, StatusSet Expected);

/// <summary>Counts of one setup batch, for the report.</summary>
internal sealed record BatchResult(string Name, int Count, TimeSpan Elapsed, ErrorTally Errors);

/// <summary>What a scenario's setup may use: sending batches (with progress and error counts).</summary>
internal interface ISetupDriver
{
    Task<BatchResult> RunBatchAsync(Batch batch, CancellationToken cancel);
}

/// <summary>A scenario: an optional setup, then its targets measured one after another.</summary>
internal sealed record Scenario(
    string Name,
    Func<ISetupDriver, CancellationToken, Task>? Setup,
    IReadOnlyList<Target> Targets);

/// <summary>The parameters scenario factories may read.</summary>
internal sealed record ScenarioSettings(Endpoint Endpoint, int Customers);

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
    ];

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

        var put = new Target(
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

        var get = new Target(
            "get_customer",
            Authenticated: true,
            (_, random) => new HttpRequestMessage(HttpMethod.Get, endpoint.For(CustomerPath(random.Next(count)))),
            new StatusSet(200));

        return new Scenario("customers", Setup, [put, get]);
    }

    private static string CustomerPath(int i) => string.Create(CultureInfo.InvariantCulture, $"/v1/customers/bench_cus_{i}");

    private static Target PlainGet(Endpoint endpoint, string name, string path)
    {
        // One Uri for every request: it is immutable, so sharing it across workers is safe and saves a parse.
        var uri = endpoint.For(path);
        return new Target(name, Authenticated: false, (_, _) => new HttpRequestMessage(HttpMethod.Get, uri), new StatusSet(200));
    }

    private static HttpRequestMessage Json(HttpMethod method, Uri uri, string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));

        // Exactly "application/json" (StringContent would append "; charset=utf-8"); unvalidated add skips a parse.
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        return new HttpRequestMessage(method, uri) { Content = content };
    }
}
