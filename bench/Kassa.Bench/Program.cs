using System.Globalization;

namespace Kassa.Bench;

/// <summary>
/// Entry point and command-line parsing. A hand-written parser because the tool takes no packages; a bad
/// command line is one line on stderr and exit code 2, so scripts can tell it from a failed run.
/// </summary>
internal static class Program
{
    private const int ExitUsage = 2;

    private const string Usage = """
        usage:
          kassa-bench run --url URL --key KEY --scenario NAME [--workers N] [--duration D] [--warmup D]
                          [--baseline PATH|none] [--json FILE] [--customers N] [--events N]
                          [--query-workers N] [--ingest-spread SECONDS] [--settle D] [--subscribe-rate N]
          kassa-bench scenarios

        run        drives N workers (one request in flight each) against a running server: setup, then the
                   baseline, then each target of the scenario, each for --warmup (not recorded) + --duration
          --url        server base URL (default http://127.0.0.1:8080)
          --key        API key, sent as "Authorization: Bearer KEY" (required unless the scenario needs none)
          --scenario   scenario name, see `kassa-bench scenarios`
          --workers    concurrent workers, 1..1024 (default 64)
          --duration   measured time per target, e.g. 10s, 500ms, 2m; at most 10m (default 10s)
          --warmup     unrecorded time before each target, 0..10m (default 2s)
          --baseline   path measured first as the ceiling, or none (default /healthz)
          --json       also write the figures as a JSON array to FILE
          --customers  customers the setup creates (metering: customer ids the events spread over),
                       1..1000000 (default 10000)
          --events     metering scenarios: events loaded before the large-store queries, 0..100000000;
                       0 skips the large store (default 10000000)
          --query-workers  metering scenarios: workers of the usage targets, 1..--workers (default 2, one
                       per core of the test machine: a query's latency, not a queue's)
          --ingest-spread  metering: the ingest phases stamp events uniformly over this many seconds
                       back, 0..2592000 (default 2419200, 28 days; 300 is live traffic)
          --settle     metering: idle time after the large load, before its targets, 0..30m (default 0s):
                       lets the database's background maintenance (autovacuum) catch up
          --subscribe-rate  subscribe: the subscribes per second the customer pool is sized for, 1..100000
                       (default 500); the pool is rate x (warmup + duration) + 2 x workers, at most 200000
        scenarios  lists the scenario names
        exit codes: 0 run finished (errors are reported, not judged), 1 server unreachable, 2 bad command line,
                    3 a setup step the targets depend on failed (the phases measured before it are
                    still printed and written), 130 interrupted
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            return Fail("missing command: run or scenarios (see --help)");
        }

        switch (args[0])
        {
            case "-h" or "--help" or "help":
                Console.WriteLine(Usage);
                return 0;
            case "scenarios":
                if (args.Length > 1)
                {
                    return Fail($"scenarios takes no arguments, got {args[1]}");
                }

                foreach (var s in Scenarios.All)
                {
                    Console.WriteLine($"{s.Name,-15} {s.Description}");
                }

                return 0;
            case "run":
                if (args.Skip(1).Any(a => a is "-h" or "--help"))
                {
                    Console.WriteLine(Usage);
                    return 0;
                }

                var error = TryParseRun(args.AsSpan(1), out var options);
                return error is not null ? Fail(error) : await BenchRun.RunAsync(options!);
            default:
                return Fail($"unknown command {args[0]}: run or scenarios (see --help)");
        }
    }

    /// <summary>Parses the flags of <c>run</c>. Returns an error message, or null and the options.</summary>
    internal static string? TryParseRun(ReadOnlySpan<string> args, out BenchOptions? options)
    {
        options = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] known = ["--url", "--key", "--workers", "--duration", "--warmup", "--scenario", "--baseline", "--json", "--customers", "--events", "--query-workers", "--ingest-spread", "--settle", "--subscribe-rate"];
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string name;
            string value;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                name = arg;
                if (!known.Contains(name))
                {
                    return arg.StartsWith('-') ? $"unknown flag {arg}" : $"unexpected argument {arg}";
                }

                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return $"{name} needs a value";
                }

                value = args[++i];
            }

            if (!known.Contains(name))
            {
                return $"unknown flag {name}";
            }

            if (!values.TryAdd(name, value))
            {
                return $"{name} given twice";
            }
        }

        if (!values.TryGetValue("--scenario", out var scenarioName))
        {
            return "--scenario is required (see `kassa-bench scenarios`)";
        }

        var scenario = Scenarios.Find(scenarioName);
        if (scenario is null)
        {
            return $"unknown scenario {scenarioName}: one of {string.Join(", ", Scenarios.All.Select(s => s.Name))}";
        }

        var urlText = values.GetValueOrDefault("--url", BenchOptions.DefaultUrl);
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            return $"--url must be an absolute http(s) URL without query, got {urlText}";
        }

        var key = values.GetValueOrDefault("--key");
        if (key is not null && (key.Length is 0 or > 256 || key.Any(c => c is <= ' ' or > '~')))
        {
            // The key goes into a header unvalidated on every request, so it is checked once here.
            return "--key must be 1..256 printable ASCII characters without spaces";
        }

        if (key is null && scenario.RequiresKey)
        {
            return $"--key is required for scenario {scenario.Name}";
        }

        var workers = BenchOptions.DefaultWorkers;
        if (values.TryGetValue("--workers", out var workersText)
            && !TryParseInt(workersText, 1, BenchOptions.MaxWorkers, out workers))
        {
            return $"--workers must be an integer in 1..{BenchOptions.MaxWorkers}, got {workersText}";
        }

        var customers = BenchOptions.DefaultCustomers;
        if (values.TryGetValue("--customers", out var customersText)
            && !TryParseInt(customersText, 1, BenchOptions.MaxSetupCount, out customers))
        {
            return $"--customers must be an integer in 1..{BenchOptions.MaxSetupCount}, got {customersText}";
        }

        var events = BenchOptions.DefaultEvents;
        if (values.TryGetValue("--events", out var eventsText)
            && (!long.TryParse(eventsText, NumberStyles.None, CultureInfo.InvariantCulture, out events)
                || events > BenchOptions.MaxEvents))
        {
            return $"--events must be an integer in 0..{BenchOptions.MaxEvents}, got {eventsText}";
        }

        var queryWorkers = Math.Min(BenchOptions.DefaultQueryWorkers, workers);
        if (values.TryGetValue("--query-workers", out var queryWorkersText)
            && !TryParseInt(queryWorkersText, 1, workers, out queryWorkers))
        {
            return $"--query-workers must be an integer in 1..{workers} (--workers), got {queryWorkersText}";
        }

        var ingestSpread = BenchOptions.DefaultIngestSpreadSeconds;
        if (values.TryGetValue("--ingest-spread", out var spreadText)
            && (!long.TryParse(spreadText, NumberStyles.None, CultureInfo.InvariantCulture, out ingestSpread)
                || ingestSpread > BenchOptions.MaxIngestSpreadSeconds))
        {
            return $"--ingest-spread must be an integer in 0..{BenchOptions.MaxIngestSpreadSeconds}, got {spreadText}";
        }

        var settle = TimeSpan.Zero;
        if (values.TryGetValue("--settle", out var settleText)
            && (!TryParseDuration(settleText, out settle) || settle > BenchOptions.MaxSettle))
        {
            return $"--settle must be a time from 0 to 30m (like 0s, 5m), got {settleText}";
        }

        var subscribeRate = BenchOptions.DefaultSubscribeRate;
        if (values.TryGetValue("--subscribe-rate", out var rateText)
            && !TryParseInt(rateText, 1, BenchOptions.MaxSubscribeRate, out subscribeRate))
        {
            return $"--subscribe-rate must be an integer in 1..{BenchOptions.MaxSubscribeRate}, got {rateText}";
        }

        var duration = BenchOptions.DefaultDuration;
        if (values.TryGetValue("--duration", out var durationText)
            && (!TryParseDuration(durationText, out duration) || duration <= TimeSpan.Zero || duration > BenchOptions.MaxDuration))
        {
            return $"--duration must be a time above 0 and at most 10m (like 10s, 500ms, 2m), got {durationText}";
        }

        var warmup = BenchOptions.DefaultWarmup;
        if (values.TryGetValue("--warmup", out var warmupText)
            && (!TryParseDuration(warmupText, out warmup) || warmup > BenchOptions.MaxDuration))
        {
            return $"--warmup must be a time from 0 to 10m (like 2s, 0s), got {warmupText}";
        }

        string? baseline = values.GetValueOrDefault("--baseline", BenchOptions.DefaultBaselinePath);
        if (baseline == "none")
        {
            baseline = null;
        }
        else if (!baseline.StartsWith('/') || baseline.Length > 200 || baseline.Any(c => c is <= ' ' or > '~'))
        {
            return $"--baseline must be a path starting with / (at most 200 characters) or none, got {baseline}";
        }

        var json = values.GetValueOrDefault("--json");
        if (json is { Length: 0 })
        {
            return "--json needs a file name";
        }

        options = new BenchOptions(url, key, workers, duration, warmup, scenario.Name, baseline, json, customers, events, queryWorkers, ingestSpread, settle)
        {
            SubscribeRate = subscribeRate,
        };
        return null;
    }

    /// <summary>
    /// "10s", "500ms", "2m", "1.5s"; a bare number is seconds. Decimal, not double, so "0.1s" is exact.
    /// </summary>
    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        (string number, long ticksPerUnit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], TimeSpan.TicksPerMillisecond),
            _ when text.EndsWith('s') => (text[..^1], TimeSpan.TicksPerSecond),
            _ when text.EndsWith('m') => (text[..^1], TimeSpan.TicksPerMinute),
            _ => (text, TimeSpan.TicksPerSecond),
        };

        // The upper bound only keeps the multiplication in range; callers apply the real limits.
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount > 1_000_000)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)(amount * ticksPerUnit));
        return true;
    }

    private static bool TryParseInt(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"kassa-bench: {message}");
        return ExitUsage;
    }
}
