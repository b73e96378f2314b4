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

    private static string EngineMetrics(Kassa.Engine.Balances.BalanceEngine e) =>
        "# HELP kassa_balance_batches_total Balance engine batches committed.\n# TYPE kassa_balance_batches_total counter\n" +
        $"kassa_balance_batches_total {e.Batches}\n" +
        "# HELP kassa_balance_operations_total Balance operations decided in committed batches.\n# TYPE kassa_balance_operations_total counter\n" +
        $"kassa_balance_operations_total {e.Operations}\n" +
        "# HELP kassa_balance_batch_seconds_total Time spent in batch transactions.\n# TYPE kassa_balance_batch_seconds_total counter\n" +
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"kassa_balance_batch_seconds_total {(decimal)e.BatchTicks / System.Diagnostics.Stopwatch.Frequency:0.######}\n") +
        "# HELP kassa_balance_batch_phase_seconds_total Time spent in each phase of batch transactions (the rest is begin and commit).\n# TYPE kassa_balance_batch_phase_seconds_total counter\n" +
        Phase("load", Kassa.Engine.Balances.BatchPhases.LoadTicks) + Phase("decide", Kassa.Engine.Balances.BatchPhases.DecideTicks) +
        Phase("persist", Kassa.Engine.Balances.BatchPhases.PersistTicks) +
        "# HELP kassa_balance_queue_length Operations waiting for the balance engine.\n# TYPE kassa_balance_queue_length gauge\n" +
        $"kassa_balance_queue_length {e.QueueLength}\n";

    // One group per metric name, as the exposition format requires: both loops' samples side by side.
    private static string GroupCommitMetrics(Kassa.Engine.Balances.BalanceEngine e, Kassa.Engine.Metering.IngestQueue q) =>
        "# HELP kassa_group_commit_outcomes_resolved_total Commits whose acknowledgement was lost and whose outcome was looked up.\n# TYPE kassa_group_commit_outcomes_resolved_total counter\n" +
        $"kassa_group_commit_outcomes_resolved_total{{loop=\"balances\"}} {e.OutcomesResolved}\n" +
        $"kassa_group_commit_outcomes_resolved_total{{loop=\"ingest\"}} {q.OutcomesResolved}\n" +
        "# HELP kassa_group_commit_batches_split_total Batches rolled back and run again one item at a time.\n# TYPE kassa_group_commit_batches_split_total counter\n" +
        $"kassa_group_commit_batches_split_total{{loop=\"balances\"}} {e.BatchesSplit}\n" +
        $"kassa_group_commit_batches_split_total{{loop=\"ingest\"}} {q.BatchesSplit}\n";

    private static string IngestMetrics(Kassa.Engine.Metering.IngestQueue q) =>
        "# HELP kassa_meter_ingest_commits_total Meter event transactions committed (each holds one or more requests).\n# TYPE kassa_meter_ingest_commits_total counter\n" +
        $"kassa_meter_ingest_commits_total {q.Commits}\n" +
        "# HELP kassa_meter_ingest_requests_total Meter event requests answered from committed transactions.\n# TYPE kassa_meter_ingest_requests_total counter\n" +
        $"kassa_meter_ingest_requests_total {q.Requests}\n" +
        "# HELP kassa_meter_ingest_commit_seconds_total Time spent in meter event transactions.\n# TYPE kassa_meter_ingest_commit_seconds_total counter\n" +
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"kassa_meter_ingest_commit_seconds_total {(decimal)q.CommitTicks / System.Diagnostics.Stopwatch.Frequency:0.######}\n") +
        "# HELP kassa_meter_ingest_queue_length Meter event requests waiting for a transaction.\n# TYPE kassa_meter_ingest_queue_length gauge\n" +
        $"kassa_meter_ingest_queue_length {q.QueueLength}\n";

    private static string Phase(string name, long ticks) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"kassa_balance_batch_phase_seconds_total{{phase=\"{name}\"}} {(decimal)ticks / System.Diagnostics.Stopwatch.Frequency:0.######}\n");

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

        app.MapGet("/metrics", (Metrics metrics, Kassa.Engine.Balances.BalanceEngine engine, Kassa.Engine.Metering.IngestQueue ingest) =>
                Results.Text(metrics.Render() + EngineMetrics(engine) + IngestMetrics(ingest) + GroupCommitMetrics(engine, ingest), "text/plain; version=0.0.4; charset=utf-8"))
            .Doc("metrics", "Prometheus metrics: request counts and latency histograms by route", "Operations")
            .Produces<string>(200, "text/plain");
    }
}
