using Kassa.Engine.Json;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Unauthenticated operational endpoints; none of them reveals tenant data.</summary>
public static class OpsEndpoints
{
    public sealed record HealthResource(string Status);

    public sealed record ReadinessResource(string Status, string Engine);

    private static readonly HealthResource Healthy = new("ok");
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(2);

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Json(Healthy, KassaJson.Options, ApiResponses.JsonContentType))
            .Doc("healthz", "Liveness: the process answers", "Operations")
            .Produces<HealthResource>(200, ApiResponses.JsonContentType);

        app.MapGet("/readyz", async (HttpContext http, IKassaStore store) =>
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                timeout.CancelAfter(ReadinessTimeout);
                try
                {
                    await store.PingAsync(timeout.Token);
                    await ApiResponses.WriteJson(http, 200, new ReadinessResource("ready", store.Engine));
                }
                catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
                {
                    await ApiResponses.WriteJson(http, 503, new ReadinessResource("unavailable", store.Engine));
                }
            })
            .Doc("readyz", "Readiness: the database answers", "Operations")
            .Produces<ReadinessResource>(200, ApiResponses.JsonContentType)
            .Produces<ReadinessResource>(503, ApiResponses.JsonContentType);

        // The OpenTelemetry Prometheus exporter writes the answer; mapped here as a documented route
        // handler (the exporter's own MapPrometheusScrapingEndpoint is invisible to the OpenAPI document).
        app.MapGet("/metrics", (HttpContext http, Kassa.Server.Telemetry.PrometheusScrape scrape) => scrape.WriteAsync(http))
            .Doc("metrics", "Prometheus metrics (OpenTelemetry): requests, group commits, queues, webhook backlog, runtime, ASP.NET Core, Npgsql", "Operations")
            .Produces<string>(200, "text/plain", "application/openmetrics-text");
    }
}
