using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Kassa.Server.Http;

/// <summary>
/// Request counters and latency histograms by route, exposed as Prometheus text at <c>/metrics</c>.
/// Written by hand when no exporter package restored here (OpenTelemetry's now does; moving to it is
/// issue 14). A request whose series exists costs two dictionary reads (lock-free) and a few
/// interlocked adds; the first request of a new series takes the dictionary's lock to add it.
/// </summary>
public sealed class Metrics
{
    /// <summary>Histogram bounds in seconds, chosen around the hot path's 1–20 ms targets.</summary>
    public static readonly double[] BucketBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    // The bounds in stopwatch ticks, so recording compares integers.
    private readonly long[] _boundTicks = BucketBounds.Select(b => (long)(b * System.Diagnostics.Stopwatch.Frequency)).ToArray();
    // Routes are route templates (bounded by the endpoint table), not raw paths, so label count stays small.
    private const int SeriesMax = 2_000;
    private readonly ConcurrentDictionary<(string Method, string Route), Histogram> _latency = new();
    private readonly ConcurrentDictionary<(string Method, string Route, int Status), Counter> _requests = new();

    private sealed class Counter
    {
        public long Value;
    }

    private sealed class Histogram(int buckets)
    {
        public readonly long[] Counts = new long[buckets + 1];
        public long Count;
        public long SumTicks;
    }

    public void Record(string method, string route, int status, long elapsedTicks)
    {
        if (_requests.Count >= SeriesMax && !_requests.ContainsKey((method, route, status))) return;
        Interlocked.Increment(ref _requests.GetOrAdd((method, route, status), _ => new Counter()).Value);
        var h = _latency.GetOrAdd((method, route), _ => new Histogram(_boundTicks.Length));
        var i = 0;
        while (i < _boundTicks.Length && elapsedTicks > _boundTicks[i]) i++;
        Interlocked.Increment(ref h.Counts[i]);
        Interlocked.Increment(ref h.Count);
        Interlocked.Add(ref h.SumTicks, elapsedTicks);
    }

    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP kassa_http_requests_total HTTP requests answered, by method, route template and status.\n");
        sb.Append("# TYPE kassa_http_requests_total counter\n");
        foreach (var ((method, route, status), c) in _requests.OrderBy(k => k.Key.Route, StringComparer.Ordinal).ThenBy(k => k.Key.Method).ThenBy(k => k.Key.Status))
            sb.Append(CultureInfo.InvariantCulture, $"kassa_http_requests_total{{method=\"{method}\",route=\"{Escape(route)}\",status=\"{status}\"}} {Interlocked.Read(ref c.Value)}\n");
        sb.Append("# HELP kassa_http_request_duration_seconds Time from the first byte read to the last byte written.\n");
        sb.Append("# TYPE kassa_http_request_duration_seconds histogram\n");
        foreach (var ((method, route), h) in _latency.OrderBy(k => k.Key.Route, StringComparer.Ordinal).ThenBy(k => k.Key.Method))
        {
            var labels = $"method=\"{method}\",route=\"{Escape(route)}\"";
            long cumulative = 0;
            for (var i = 0; i < BucketBounds.Length; i++)
            {
                cumulative += Interlocked.Read(ref h.Counts[i]);
                sb.Append(CultureInfo.InvariantCulture, $"kassa_http_request_duration_seconds_bucket{{{labels},le=\"{BucketBounds[i]}\"}} {cumulative}\n");
            }
            cumulative += Interlocked.Read(ref h.Counts[^1]);
            sb.Append(CultureInfo.InvariantCulture, $"kassa_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}\n");
            var seconds = (decimal)Interlocked.Read(ref h.SumTicks) / System.Diagnostics.Stopwatch.Frequency;
            sb.Append(CultureInfo.InvariantCulture, $"kassa_http_request_duration_seconds_sum{{{labels}}} {seconds:0.######}\n");
            sb.Append(CultureInfo.InvariantCulture, $"kassa_http_request_duration_seconds_count{{{labels}}} {Interlocked.Read(ref h.Count)}\n");
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
