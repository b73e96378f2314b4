using OpenTelemetry.Metrics;

namespace Kassa.Server.Telemetry;

/// <summary>
/// Answers <c>/metrics</c> through the OpenTelemetry Prometheus exporter's own middleware, so the text
/// format, escaping and content negotiation (Prometheus text or OpenMetrics) are the maintained
/// exporter's, while the route stays an ordinary documented endpoint: the exporter's
/// <c>MapPrometheusScrapingEndpoint</c> makes an endpoint the OpenAPI document cannot see, and its
/// middleware class is internal, so the middleware runs in a small pipeline of its own built once.
/// </summary>
public sealed class PrometheusScrape(IServiceProvider services, MeterProvider meterProvider)
{
    private readonly Lazy<RequestDelegate> _pipeline = new(() =>
    {
        var branch = new ApplicationBuilder(services);
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        // Never reached (the predicate takes every request into the exporter's branch).
        branch.Run(http =>
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return branch.Build();
    });

    public Task WriteAsync(HttpContext http) => _pipeline.Value(http);
}
