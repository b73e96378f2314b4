namespace Kassa.Server.Telemetry;

/// <summary>
/// Where metrics and traces go besides <c>/metrics</c>: an OTLP collector, configured with the standard
/// OpenTelemetry variables. Without <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> nothing is exported and no tracer
/// is installed at all, so spans are never even created.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>The collector's base URL (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, e.g. <c>http://otel-collector:4318</c>); null: no OTLP export.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>http/protobuf</c> (the default, as the OpenTelemetry specification says) or <c>grpc</c> (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>).</summary>
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>How often metrics are pushed (<c>OTEL_METRIC_EXPORT_INTERVAL</c>, milliseconds, 100 ms–1 h; 60 s by default).</summary>
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long finished spans wait to be sent in one batch (<c>OTEL_BSP_SCHEDULE_DELAY</c>, milliseconds, 100 ms–1 h; 5 s by default).</summary>
    public TimeSpan TraceExportDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a webhook backlog count is reused before a scrape starts another (15 s; tests lower it).
    /// Prometheus may scrape as often as it likes: the database is counted at most this often.
    /// </summary>
    public TimeSpan BacklogRefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    public static TelemetryOptions FromEnvironment()
    {
        var o = new TelemetryOptions();
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } endpoint)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, e.g. http://otel-collector:4318");
            o.OtlpEndpoint = uri;
        }
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL") is { Length: > 0 } protocol)
        {
            if (protocol is not ("http/protobuf" or "grpc"))
                throw new ArgumentException("OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc");
            o.OtlpProtocol = protocol;
        }
        o.MetricExportInterval = Milliseconds("OTEL_METRIC_EXPORT_INTERVAL") ?? o.MetricExportInterval;
        o.TraceExportDelay = Milliseconds("OTEL_BSP_SCHEDULE_DELAY") ?? o.TraceExportDelay;
        return o;
    }

    private static TimeSpan? Milliseconds(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } value) return null;
        if (!int.TryParse(value, out var ms) || ms < 100 || ms > 3_600_000)
            throw new ArgumentException($"{variable} must be a whole number of milliseconds from 100 to 3600000");
        return TimeSpan.FromMilliseconds(ms);
    }
}
