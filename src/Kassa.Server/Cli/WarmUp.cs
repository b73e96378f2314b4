using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Kassa.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kassa.Server.Cli;

/// <summary>
/// <c>kassa serve</c>'s warm-up, before the server listens: a scratch server on a temporary SQLite file and a
/// loopback port answers the hot requests (check with send_event, track, a customer update, a credit grant, a
/// meter event batch, a usage query) until the JIT has compiled them optimized, then is stopped and its file deleted.
/// Why: a fresh process runs its code first as unoptimized tier-0 code and compiles it again as it gets hot;
/// under full load the first seconds after a start answered at p99 170–350 ms against ~30 ms a minute later,
/// and the compiler took a quarter of the CPU (ADR 0017; bench/README.md, 2026-12-03). Compiled code belongs to the
/// process, so what the scratch server compiled the real one runs. Its data never touches the real store;
/// on PostgreSQL the storage driver's own code is still compiled under the first real requests.
/// How long: until the JIT goes quiet (<see cref="JitSettling"/>), at most <c>KASSA_WARMUP_SECONDS</c>. On two cores
/// the JIT needed 9–15 s of CPU and 16–26 s of warm-up to settle; a fixed 5 s left most hot code unoptimized.
/// A warm-up that fails is reported and skipped: it never keeps the server from starting.
/// </summary>
public static class WarmUp
{
    /// <summary>
    /// Default longest warm-up; <c>KASSA_WARMUP_SECONDS</c> sets it (0 turns the warm-up off). It ends sooner once
    /// the JIT has settled: measured 16–26 s on two cores, a few seconds on a larger machine.
    /// </summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The default for a build: <see cref="DefaultDuration"/> for an optimized (Release) build, none for a Debug build
    /// (<c>dotnet run</c>): the JIT never optimizes a Debug assembly's own code, so a warm-up would only delay a
    /// developer's start.
    /// </summary>
    public static TimeSpan DefaultFor(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is [DebuggableAttribute { IsJITOptimizerDisabled: true }, ..]
            ? TimeSpan.Zero
            : DefaultDuration;

    /// <summary>Longest accepted setting: the server is not reachable meanwhile.</summary>
    public static readonly TimeSpan DurationMax = TimeSpan.FromSeconds(60);

    /// <summary>How often the warm-up reads the JIT's count of compiled methods.</summary>
    public static readonly TimeSpan SettlingProbe = TimeSpan.FromSeconds(1);

    /// <summary>Concurrent requests: enough to run the group-commit loops with batches of several, as under load.</summary>
    public const int Workers = 16;

    /// <summary>Customers of the scratch account; requests pick one at random, as uniform traffic does.</summary>
    public const int Customers = 64;

    /// <summary>Events per meter event batch.</summary>
    public const int EventsPerBatch = 50;

    private const string Feature = "warm_calls";
    private const string Product = "warm_plan";
    private const string Meter = "warm_tokens";
    private const string EventName = "warm_llm";

    /// <param name="Settled">The JIT went quiet before the limit (false: the limit ended it).</param>
    public sealed record Outcome(long Requests, long Failures, TimeSpan Elapsed, bool Settled);

    /// <summary>
    /// Runs the warm-up until the JIT settles, at most <paramref name="duration"/>; null when it could not run (the
    /// reason went to <paramref name="log"/>).
    /// </summary>
    public static async Task<Outcome?> RunAsync(KassaOptions real, TimeSpan duration, TextWriter log, CancellationToken ct)
    {
        var folder = Path.Combine(Path.GetTempPath(), "kassa-warmup-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var options = new KassaOptions
            {
                Db = Path.Combine(folder, "kassa.db"),
                Urls = "http://127.0.0.1:0",
                Time = real.Time,
                RateLimitPerSecond = 0,
                // No background workers: their rounds would only compete with the requests for two cores.
                RunWorkers = false,
            };
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            var account = await Bootstrap.EnsureFirstAccountAsync(store, options.Time, null, ct)
                ?? throw new InvalidOperationException("the scratch store already had an account");
            var app = KassaApp.Build(options, store, builder => builder.Logging.ClearProviders());
            await using (app)
            {
                await app.StartAsync(ct);
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", account.TestSecretKey);
                await SeedAsync(http, ct);
                var outcome = await LoadAsync(http, options.Time, duration, ct);
                await app.StopAsync(CancellationToken.None);
                return outcome;
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.WriteLine($"warm-up skipped: {e.GetType().Name}: {e.Message}");
            return null;
        }
        finally
        {
            // The scratch store's disposal above closed its connections and cleared its own pool.
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still open somewhere: the temporary folder is the operating system's to clean.
            }
        }
    }

    private static async Task SeedAsync(HttpClient http, CancellationToken ct)
    {
        await SendAsync(http, HttpMethod.Post, "/v1/features", $$"""{"id":"{{Feature}}","name":"Calls","type":"metered"}""", ct);
        await SendAsync(http, HttpMethod.Post, "/v1/products",
            $$"""{"id":"{{Product}}","name":"Plan","features":[{"feature_id":"{{Feature}}","included":1000000000,"reset":"month","overage":"allowed"}]}""", ct);
        await SendAsync(http, HttpMethod.Post, "/v1/meters",
            $$"""{"id":"{{Meter}}","name":"Tokens","event_name":"{{EventName}}","aggregation":"sum","value_property":"tokens","group_by":["model"]}""", ct);
        for (var i = 0; i < Customers; i++)
        {
            await SendAsync(http, HttpMethod.Put, $"/v1/customers/warm_{i}", $$"""{"name":"Warm {{i}}"}""", ct);
            await SendAsync(http, HttpMethod.Post, "/v1/subscribe", $$"""{"customer_id":"warm_{{i}}","product_id":"{{Product}}"}""", ct);
        }
    }

    private static async Task<Outcome> LoadAsync(HttpClient http, TimeProvider time, TimeSpan duration, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        long requests = 0, failures = 0;
        var settled = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(duration);
        // Real time and the process's own JIT counter: this paces the process's compiler, not a business date.
        var probe = Task.Run(async () =>
        {
            var settling = new JitSettling();
            using var timer = new PeriodicTimer(SettlingProbe);
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    if (!settling.Observe(Stopwatch.GetElapsedTime(started), System.Runtime.JitInfo.GetCompiledMethodCount())) continue;
                    settled = true;
                    await stop.CancelAsync();
                }
            }
            catch (OperationCanceledException)
            {
                // The limit, or the server stopping.
            }
        }, CancellationToken.None);
        var now = time.GetUtcNow();
        var from = now.AddDays(-1).ToString("yyyy-MM-ddTHH:00:00Z", CultureInfo.InvariantCulture);
        var to = now.AddDays(1).ToString("yyyy-MM-ddTHH:00:00Z", CultureInfo.InvariantCulture);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(async worker =>
            {
                var random = new Random(worker);
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    var customer = "warm_" + random.Next(Customers).ToString(CultureInfo.InvariantCulture);
                    // Mostly the hot path, as production traffic is; every kind often enough to be compiled optimized.
                    var (method, path, body) = (n++ % 16) switch
                    {
                        < 8 => (HttpMethod.Post, "/v1/check", $$"""{"customer_id":"{{customer}}","feature_id":"{{Feature}}","required_balance":1,"send_event":true}"""),
                        < 12 => (HttpMethod.Post, "/v1/track", $$"""{"customer_id":"{{customer}}","feature_id":"{{Feature}}","value":1}"""),
                        12 => (HttpMethod.Put, $"/v1/customers/{customer}", $$$"""{"name":"Warm","metadata":{"n":"{{{n}}}"}}"""),
                        13 => (HttpMethod.Post, "/v1/credit_grants", $$"""{"customer_id":"{{customer}}","feature_id":"{{Feature}}","amount":10,"category":"paid"}"""),
                        14 => (HttpMethod.Post, "/v1/meter_events/batch", Events(worker, n, customer)),
                        _ => (HttpMethod.Get, $"/v1/meters/{Meter}/usage?window=hour&group_by=model&from={from}&to={to}&customer_id={customer}", null),
                    };
                    // Each request runs to its end (not cancelled by the stop): a request cut short would count as failed.
                    var ok = await TrySendAsync(http, method, path, body, ct);
                    Interlocked.Increment(ref requests);
                    if (!ok) Interlocked.Increment(ref failures);
                }
            }));
        }
        finally
        {
            // Also when a request threw: the probe ends before the token source it listens to is disposed.
            await stop.CancelAsync();
            await probe;
        }
        ct.ThrowIfCancellationRequested();
        return new Outcome(requests, failures, Stopwatch.GetElapsedTime(started), settled);
    }

    private static string Events(int worker, int n, string customer)
    {
        var json = new StringBuilder("{\"events\":[");
        for (var i = 0; i < EventsPerBatch; i++)
        {
            if (i > 0) json.Append(',');
            json.Append(CultureInfo.InvariantCulture,
                $$$"""{"id":"warm-{{{worker}}}-{{{n}}}-{{{i}}}","event_name":"{{{EventName}}}","customer_id":"{{{customer}}}","properties":{"tokens":{{{i + 1}}},"model":"m{{{i % 3}}}"}}""");
        }
        return json.Append("]}").ToString();
    }

    private static async Task SendAsync(HttpClient http, HttpMethod method, string path, string body, CancellationToken ct)
    {
        if (!await TrySendAsync(http, method, path, body, ct))
            throw new InvalidOperationException($"{method} {path} did not succeed on the scratch server");
    }

    private static async Task<bool> TrySendAsync(HttpClient http, HttpMethod method, string path, string? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, ct);
        // The body is read as a client would, so the server's whole write path runs.
        await response.Content.ReadAsByteArrayAsync(ct);
        return response.IsSuccessStatusCode;
    }
}
