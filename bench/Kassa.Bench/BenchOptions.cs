namespace Kassa.Bench;

/// <summary>
/// What one <c>kassa-bench run</c> was asked to do, already checked against the limits below, so the
/// runner never has to second-guess its inputs.
/// </summary>
internal sealed record BenchOptions(
    Uri Url,
    string? Key,
    int Workers,
    TimeSpan Duration,
    TimeSpan Warmup,
    string Scenario,
    string? BaselinePath,
    string? JsonPath,
    int Customers,
    long Events,
    int QueryWorkers,
    long IngestSpreadSeconds,
    TimeSpan Settle)
{
    /// <summary>
    /// Subscribe scenario: the subscribes per second its customer pool is sized for (each request needs a
    /// customer of its own, created in setup).
    /// </summary>
    public int SubscribeRate { get; init; } = DefaultSubscribeRate;

    // The subscribe pool costs two setup requests per customer, so the assumed rate sets the setup time:
    // 500/s is a few times what the development machine subscribes (tens to a few hundred a second) and
    // makes 6,000 customers for the default 12 s; a faster server runs out and says so.
    public const int DefaultSubscribeRate = 500;

    // A pool for this rate over a 10-minute phase would be millions of customers; past this the setup
    // alone is hours, so a higher rate is a typo.
    public const int MaxSubscribeRate = 100_000;

    // Past 1024 workers a 2-core load generator measures its own scheduler, not the server; each
    // worker also holds a ~30 KB histogram and a connection.
    public const int MaxWorkers = 1024;

    // A phase longer than this is a soak test, which this tool is not; it also bounds how long a
    // mistyped duration can hold the machine.
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);

    // Setup rows are created one request each; a million already takes minutes on the test machine.
    public const int MaxSetupCount = 1_000_000;

    // Events the metering scenarios load before their large-store queries. A hundred million is ten
    // times the default and already hours of loading on the test machine; it also bounds a mistyped count.
    public const long MaxEvents = 100_000_000;

    public const int DefaultWorkers = 64;
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultWarmup = TimeSpan.FromSeconds(2);
    public const string DefaultBaselinePath = "/healthz";
    public const int DefaultCustomers = 10_000;
    public const long DefaultEvents = 10_000_000;

    // Metering's usage targets measure a query's latency, not how requests queue for 2 cores: one client
    // per core keeps every query on a core of its own (at 8 the p99 is mostly time spent waiting in line).
    public const int DefaultQueryWorkers = 2;
    // Metering's ingest phases stamp events uniformly over this many seconds back: 28 days (every event
    // in a cell of its own, the worst case for the rollups) unless asked otherwise; 300 is live traffic.
    // At most 30 days: the server refuses events older than 35, and a long run moves "now" on.
    public const long DefaultIngestSpreadSeconds = 28L * 24 * 3600;
    public const long MaxIngestSpreadSeconds = 30L * 24 * 3600;
    // Metering: a pause after the large load before its targets, so the database's background work
    // (PostgreSQL's autovacuum marking pages all-visible) catches up as it would between the writes of
    // a month and a later read of it. Bounded like a phase.
    public static readonly TimeSpan MaxSettle = TimeSpan.FromMinutes(30);
    public const string DefaultUrl = "http://127.0.0.1:8080";
}
