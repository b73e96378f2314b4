using System.Net;

namespace Kassa.Bench;

/// <summary>The one HTTP client of a run, and the reachability check made before anything else.</summary>
internal static class BenchHttp
{
    // A request slower than this is an error ("Timeout"), not a latency sample: it bounds how long one
    // stuck request can hold a worker.
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One client shared by all workers. The pool allows exactly one connection per worker, connections
    /// live for the whole run (reconnects would be measured as latency), and everything that adds work
    /// the server didn't ask for (proxy, decompression, cookies, redirects) is off.
    /// </summary>
    public static HttpClient CreateClient(int workers)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = workers,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = HealthTimeout,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            AllowAutoRedirect = false,
        };

        return new HttpClient(handler, disposeHandler: true)
        {
            Timeout = RequestTimeout,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>Pins a request to HTTP/1.1 and adds the bearer key when it needs one.</summary>
    public static void Prepare(HttpRequestMessage request, string? authorization)
    {
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        if (authorization is not null)
        {
            // The value was checked once at start-up; skipping validation saves a parse per request.
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
    }

    /// <summary>GET /healthz within 5 s. Returns null when it answers 200, else why not, on one line.</summary>
    public static async Task<string?> CheckHealthAsync(HttpClient client, Endpoint endpoint, CancellationToken cancel)
    {
        var uri = endpoint.For("/healthz");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(HealthTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            Prepare(request, authorization: null);
            using var response = await client.SendAsync(request, timeout.Token);
            return response.StatusCode == HttpStatusCode.OK
                ? null
                : $"GET {uri} answered {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancel.IsCancellationRequested)
        {
            return $"GET {uri} did not answer within {HealthTimeout.TotalSeconds:0} s";
        }
        catch (HttpRequestException e)
        {
            return $"GET {uri} failed: {OneLine(e.Message)}";
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
