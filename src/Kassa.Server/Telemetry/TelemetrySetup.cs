using Kassa.Engine.Telemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Kassa.Server.Telemetry;

/// <summary>
/// The OpenTelemetry pipeline (docs/adr/0009-metrics-through-opentelemetry.md): Kassa's meter, the
/// ASP.NET Core, Kestrel and routing meters, the runtime's built-in <c>System.Runtime</c> meter and
/// Npgsql's built-in <c>Npgsql</c> meter, read by the Prometheus exporter behind <c>/metrics</c> and,
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, pushed over OTLP with the traces (ASP.NET Core
/// request spans, Npgsql command spans, one span per group-commit batch). Without an OTLP endpoint no
/// tracer provider exists, so no span is ever started.
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The meters exported besides Kassa's own; all are built into the runtime, ASP.NET Core or Npgsql.</summary>
    public static readonly string[] Meters =
    [
        KassaMeters.Name,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "System.Runtime",
        "Npgsql",
    ];

    public static void AddKassaTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        services.AddSingleton<BacklogGauge>();
        services.AddSingleton<PrometheusScrape>();
        services.AddHostedService<TelemetrySources>();
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("kassa", serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString(3)));
        otel.WithMetrics(m =>
        {
            m.AddMeter(Meters);
            // Every scrape collects afresh: Prometheus scrapes every few seconds at most, and a cached
            // answer would hide the requests of the last moments (and make the counts tests read stale).
            m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            if (options.OtlpEndpoint is { } endpoint)
            {
                m.AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, options, endpoint, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricExportInterval.TotalMilliseconds;
                });
            }
        });
        if (options.OtlpEndpoint is { } traceEndpoint)
        {
            otel.WithTracing(t => t
                .AddSource(KassaMeters.Name, "Npgsql")
                // Scrapes and probes would drown the request spans that matter.
                .AddAspNetCoreInstrumentation(o => o.Filter = http => http.Request.Path != "/metrics" && http.Request.Path != "/healthz")
                .AddOtlpExporter(exporter =>
                {
                    Configure(exporter, options, traceEndpoint, "v1/traces");
                    exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = (int)options.TraceExportDelay.TotalMilliseconds;
                }));
        }
    }

    /// <summary>
    /// OTLP/HTTP takes one URL per signal (the base endpoint plus <c>/v1/metrics</c> or <c>/v1/traces</c>,
    /// as the specification says for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>); gRPC takes the base endpoint.
    /// </summary>
    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions options, Uri endpoint, string signalPath)
    {
        if (options.OtlpProtocol == "grpc")
        {
            exporter.Protocol = OtlpExportProtocol.Grpc;
            exporter.Endpoint = endpoint;
            return;
        }
        exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
        exporter.Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath);
    }
}
