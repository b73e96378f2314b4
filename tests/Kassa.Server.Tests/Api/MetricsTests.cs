using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Kassa.Engine.Metering;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The instruments are process-wide (as the runtime's are) and every host's exporter listens to them,
/// so counts are exact only while no other host serves requests: this collection runs alone, after the
/// parallel ones.
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>/metrics through the OpenTelemetry Prometheus exporter (docs/operations.md lists every name). Runs on both engines.</summary>
public abstract partial class MetricsTests(KassaHost host)
{
    private async Task<string> Scrape()
    {
        var response = await host.Client(key: null).GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of the one sample of <paramref name="name"/> carrying every label in <paramref name="labels"/> (0 when there is none yet).</summary>
    private static double Sample(string text, string name, params (string Label, string Value)[] labels)
    {
        var matches = text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(l => labels.All(p => l.Contains($"{p.Label}=\"{p.Value}\"", StringComparison.Ordinal)))
            .ToList();
        Assert.True(matches.Count <= 1, $"{name} has {matches.Count} samples with those labels:\n{string.Join('\n', matches)}");
        return matches.Count == 0 ? 0 : double.Parse(matches[0][(matches[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Request_counter_and_latency_histogram_count_exactly_the_requests_made_by_route_template()
    {
        var before = await Scrape();
        var route = ("http_route", "/v1/customers/{id}");
        var get = ("http_request_method", "GET");
        var notFound = ("http_response_status_code", "404");
        var ids = Enumerable.Range(0, 3).Select(_ => Wire.NewId()).ToList();
        foreach (var id in ids) Assert.Equal(HttpStatusCode.NotFound, (await host.Client().Get($"/v1/customers/missing_{id}")).Status);
        var created = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{created}", new { name = "m" })).Status);
        var after = await Scrape();

        Assert.Equal(3, Sample(after, "kassa_http_requests_total", get, route, notFound) - Sample(before, "kassa_http_requests_total", get, route, notFound));
        Assert.Equal(1, Sample(after, "kassa_http_requests_total", ("http_request_method", "PUT"), route, ("http_response_status_code", "201"))
            - Sample(before, "kassa_http_requests_total", ("http_request_method", "PUT"), route, ("http_response_status_code", "201")));
        // The first scrape is itself counted once it has answered: the second one sees it.
        Assert.True(Sample(after, "kassa_http_requests_total", get, ("http_route", "/metrics"), ("http_response_status_code", "200")) >= 1);

        Assert.Contains("# TYPE kassa_http_request_duration_seconds histogram", after);
        Assert.Equal(3, Sample(after, "kassa_http_request_duration_seconds_count", get, route) - Sample(before, "kassa_http_request_duration_seconds_count", get, route));
        Assert.Equal(3, Sample(after, "kassa_http_request_duration_seconds_bucket", get, route, ("le", "+Inf"))
            - Sample(before, "kassa_http_request_duration_seconds_bucket", get, route, ("le", "+Inf")));
        // The documented buckets, 0.5 ms … 10 s, then +Inf.
        var bounds = after.Split('\n')
            .Where(l => l.StartsWith("kassa_http_request_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("http_request_method=\"PUT\"", StringComparison.Ordinal)
                && l.Contains("http_route=\"/v1/customers/{id}\"", StringComparison.Ordinal))
            .Select(l => LeLabel().Match(l).Groups[1].Value).ToList();
        Assert.Equal(["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"], bounds);

        // ASP.NET Core's own histogram sits beside Kassa's.
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", after);
        foreach (var id in ids.Append(created)) Assert.DoesNotContain(id, after);
    }

    [Fact]
    public async Task Balance_batches_record_size_phases_and_commit_per_batch_and_the_queue_gauges_exist()
    {
        var feature = $"f_{Guid.NewGuid():N}"[..14];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "F", type = "metered" })).Status);
        var product = $"p_{Guid.NewGuid():N}"[..14];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "P", features = new object[] { new { feature_id = feature, included = 100, reset = "month", overage = "allowed" } },
        })).Status);
        var customer = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{customer}", new { name = "B" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);

        var before = await Scrape();
        // One at a time: each track waits for its own batch, so three tracks are three batches of one.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 1 })).Status);
        var after = await Scrape();

        var balances = ("loop", "balances");
        double Delta(string name, params (string, string)[] labels) => Sample(after, name, labels) - Sample(before, name, labels);
        Assert.Equal(3, Delta("kassa_group_commit_batch_size_count", balances));
        Assert.Equal(3, Delta("kassa_group_commit_batch_size_sum", balances));
        Assert.Equal(3, Delta("kassa_group_commit_batch_size_bucket", balances, ("le", "1")));
        Assert.Equal(3, Delta("kassa_group_commit_batch_duration_seconds_count", balances));
        foreach (var phase in new[] { "load", "decide", "persist", "commit" })
            Assert.Equal(3, Delta("kassa_group_commit_phase_duration_seconds_count", balances, ("phase", phase)));
        Assert.Equal(0, Delta("kassa_group_commit_batches_split_total", balances));

        // Idle queues read 0; both loops report.
        Assert.Equal(0, Sample(after, "kassa_group_commit_queue_length", balances));
        Assert.Equal(0, Sample(after, "kassa_group_commit_queue_length", ("loop", "ingest")));
        Assert.Matches(@"(?m)^kassa_group_commit_queue_length\{[^}]*loop=""balances""[^}]*\} 0$", after);
        Assert.Matches(@"(?m)^kassa_group_commit_queue_length\{[^}]*loop=""ingest""[^}]*\} 0$", after);
        // Read-only checks wait in a queue of their own on PostgreSQL (ADR 0005 addendum). The gauge is the process's, so a
        // PostgreSQL host of another test may show it beside a SQLite one: only its presence is asserted.
        if (host.Engine == "postgres") Assert.Matches(@"(?m)^kassa_read_only_checks_queue_length(\{[^}]*\})? 0$", after);
        // The roller's lag is reported only once the roller registers its callback.
        Assert.DoesNotContain("kassa_meter_roller_lag_seconds{", after);
        Assert.DoesNotContain(customer, after);
        Assert.DoesNotContain(feature, after);
    }

    [Fact]
    public async Task An_ingest_batch_records_its_load_decide_persist_and_commit_phases()
    {
        var before = await Scrape();
        var batch = new object[] { new { id = Wire.NewId(), event_name = "phase_probe", customer_id = "cus_phase" } };
        Assert.Equal(HttpStatusCode.Accepted, (await host.Client().Post("/v1/meter_events/batch", new { events = batch })).Status);
        var after = await Scrape();

        var ingest = ("loop", "ingest");
        double Delta(string name, params (string, string)[] labels) => Sample(after, name, labels) - Sample(before, name, labels);
        Assert.Equal(1, Delta("kassa_group_commit_batch_size_count", ingest));
        foreach (var phase in new[] { "load", "decide", "persist", "commit" })
            Assert.Equal(1, Delta("kassa_group_commit_phase_duration_seconds_count", ingest, ("phase", phase)));
    }

    [Fact]
    public async Task A_meter_roll_records_its_plan_cells_distinct_index_and_commit_phases()
    {
        var name = "roll_probe_" + Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/meters",
            new { id = "m_" + Wire.NewId(), name = "Roll probe", event_name = name, aggregation = "count" })).Status);
        // Workers are off in the test hosts: the rolls run here, as the roller's loop would run them. Events other
        // tests of this host left behind are rolled first, so the measured roll folds exactly this one event.
        while (await RollMeterEvents.RollOnceAsync(host.Store, TimeProvider.System)) { }
        var batch = new object[] { new { id = Wire.NewId(), event_name = name, customer_id = "cus_roll" } };
        Assert.Equal(HttpStatusCode.Accepted, (await host.Client().Post("/v1/meter_events/batch", new { events = batch })).Status);
        var rolledBefore = (await host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(10))).RolledEvents;
        var before = await Scrape();
        Assert.False(await RollMeterEvents.RollOnceAsync(host.Store, TimeProvider.System));
        // SQLite's index is written by its indexer beside the rolls, which records the index phase (ADR 0006).
        if (host.Engine == "sqlite") Assert.False(await IndexMeterEvents.IndexOnceAsync(host.Store, TimeProvider.System));
        var after = await Scrape();
        var status = await host.Store.ReadAsync(s => s.Metering.RollerStatusAsync(10));
        Assert.Equal((rolledBefore + 1, 0L), (status.RolledEvents, status.EventsBehind));
        foreach (var phase in new[] { "plan", "cells", "distinct", "index", "commit" })
            Assert.Equal(1, Sample(after, "kassa_meter_roll_phase_duration_seconds_count", ("phase", phase))
                            - Sample(before, "kassa_meter_roll_phase_duration_seconds_count", ("phase", phase)));
    }

    [Fact]
    public async Task Webhook_backlog_gauges_report_the_stored_counts_from_a_cached_count()
    {
        // Workers are off in the test hosts: the events of these customers stay undispatched.
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "W" })).Status);
        var undispatched = (await host.Store.ReadAsync(s => s.Events.UndispatchedAsync(10_000))).Count;
        Assert.True(undispatched >= 2);
        var pending = await host.Store.ReadAsync(s => s.Backlog.PendingDeliveriesAsync(100_000));

        // A scrape after the cached count went stale (200 ms in this host, 15 s by default) starts a count in
        // the background and answers at once with the last one; a later scrape shows the new count.
        string text = "";
        for (var attempt = 0; attempt < 50; attempt++)
        {
            text = await Scrape();
            if (Sample(text, "kassa_webhook_events_undispatched") == undispatched) break;
            await Task.Delay(100);
        }
        Assert.Equal(undispatched, Sample(text, "kassa_webhook_events_undispatched"));
        Assert.Equal(pending, Sample(text, "kassa_webhook_deliveries_pending"));
        Assert.Contains("# TYPE kassa_webhook_events_undispatched gauge", text);
    }

    [Fact]
    public async Task Metrics_carry_no_tenant_data_and_route_labels_are_templates()
    {
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "Secret Name" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Get($"/v1/customers/{id}/balances")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client().Get($"/v1/no_such_thing/{id}")).Status);
        var text = await Scrape();
        Assert.DoesNotContain(id, text);
        Assert.DoesNotContain(host.Account.AccountId, text);
        Assert.DoesNotContain("Secret Name", text);
        Assert.DoesNotContain(KassaHost.BootstrapKey, text);
        // Every route label is a template or "unmatched", never a raw path.
        var routes = RouteLabel().Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("/v1/customers/{id}/balances", routes);
        Assert.Contains("unmatched", routes);
        Assert.All(routes, r => Assert.True(r == "unmatched" || (r.StartsWith('/') && !r.Contains("/v1/no_such_thing", StringComparison.Ordinal)), r));
        if (host.Engine == "postgres")
        {
            // Npgsql's instruments, under the pool's fixed name: no host, user or database in a label.
            Assert.Matches(@"(?m)^db_client_operation_duration_seconds_count\{[^}]*db_client_connection_pool_name=""kassa""[^}]*\} [1-9]", text);
        }
    }

    [GeneratedRegex(@"le=""([^""]+)""")]
    private static partial Regex LeLabel();

    [GeneratedRegex(@"http_route=""([^""]*)""")]
    private static partial Regex RouteLabel();
}

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTestsSqlite(MetricsSqliteHost host) : MetricsTests(host), IClassFixture<MetricsSqliteHost>;

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTestsPostgres(MetricsPostgresHost host) : MetricsTests(host), IClassFixture<MetricsPostgresHost>;

/// <summary>Hosts whose webhook backlog count is reused for 200 ms instead of 15 s, so a test sees a new count at once.</summary>
public sealed class MetricsSqliteHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.Telemetry.BacklogRefreshInterval = TimeSpan.FromMilliseconds(200);
}

public sealed class MetricsPostgresHost : PostgresHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => options.Telemetry.BacklogRefreshInterval = TimeSpan.FromMilliseconds(200);
}

/// <summary>A host exporting over OTLP/HTTP to a receiver of its own, with short export intervals.</summary>
public sealed class OtlpSqliteHost : SqliteHost, IAsyncDisposable
{
    public OtlpReceiver Receiver { get; } = OtlpReceiver.Start();

    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => OtlpSettings.Apply(options, Receiver);

    public new async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

public sealed class OtlpPostgresHost : PostgresHost, IAsyncDisposable
{
    public OtlpReceiver Receiver { get; } = OtlpReceiver.Start();

    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => OtlpSettings.Apply(options, Receiver);

    public new async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

public static class OtlpSettings
{
    public static void Apply(Kassa.Server.Hosting.KassaOptions options, OtlpReceiver receiver)
    {
        options.Telemetry.OtlpEndpoint = receiver.Endpoint;
        options.Telemetry.MetricExportInterval = TimeSpan.FromMilliseconds(200);
        options.Telemetry.TraceExportDelay = TimeSpan.FromMilliseconds(200);
    }
}

/// <summary>With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, metrics and traces are pushed over OTLP/HTTP protobuf.</summary>
public abstract class OtlpExportTests(KassaHost host, OtlpReceiver receiver)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_request_is_exported_as_metrics_and_as_a_request_span()
    {
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{id}", new { name = "o" })).Status);

        var metrics = await receiver.WaitForAsync("/v1/metrics", Wait, "kassa.http.requests");
        Assert.NotNull(metrics);
        Assert.Equal("application/x-protobuf", metrics!.ContentType);
        // The request span, named by its route template, from ASP.NET Core's instrumentation.
        var traces = await receiver.WaitForAsync("/v1/traces", Wait, "PUT /v1/customers/{id}");
        Assert.NotNull(traces);
        Assert.Equal("application/x-protobuf", traces!.ContentType);
        if (host.Engine == "postgres")
        {
            // Npgsql's command spans go out too.
            Assert.NotNull(await receiver.WaitForAsync("/v1/traces", Wait, "Npgsql"));
        }
    }

    [Fact]
    public async Task A_group_commit_batch_is_exported_as_a_span_of_its_own()
    {
        var feature = $"f_{Guid.NewGuid():N}"[..14];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "F", type = "metered" })).Status);
        var customer = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Put($"/v1/customers/{customer}", new { name = "g" })).Status);
        var product = $"p_{Guid.NewGuid():N}"[..14];
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "P", features = new object[] { new { feature_id = feature, included = 10, reset = "month", overage = "allowed" } },
        })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/track", new { customer_id = customer, feature_id = feature, value = 1 })).Status);

        Assert.NotNull(await receiver.WaitForAsync("/v1/traces", Wait, "group_commit balances", "batch.size"));
        Assert.NotNull(await receiver.WaitForAsync("/v1/metrics", Wait, "kassa.group_commit.batch.size"));
    }
}

public sealed class OtlpExportTestsSqlite(OtlpSqliteHost host) : OtlpExportTests(host, host.Receiver), IClassFixture<OtlpSqliteHost>;

public sealed class OtlpExportTestsPostgres(OtlpPostgresHost host) : OtlpExportTests(host, host.Receiver), IClassFixture<OtlpPostgresHost>;

/// <summary>
/// The hot-path recorders allocate nothing per call once a series exists: tags come from a stack
/// TagList, pre-built pairs and status codes boxed once. Runs alone (no host's exporter is listening),
/// with a plain listener that, like an exporter, receives every measurement.
/// </summary>
[Collection(nameof(MetricsCollection))]
public sealed class MetricsRecordingTests
{
    [Fact]
    public void Recording_a_request_a_batch_and_its_phases_allocates_nothing()
    {
        long seen = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Kassa.Engine.Telemetry.KassaMeters.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => seen += tags.Length);
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) => seen += tags.Length);
        listener.Start();

        void RecordAll()
        {
            Kassa.Engine.Telemetry.KassaMeters.RecordRequest("GET", "/v1/customers/{id}", 404, 12_345);
            Kassa.Engine.Telemetry.KassaMeters.RecordBatch(Kassa.Engine.Common.GroupCommitLoop.Balances, 31, 54_321);
            Kassa.Engine.Telemetry.KassaMeters.RecordPhase(Kassa.Engine.Common.GroupCommitLoop.Balances, Kassa.Engine.Telemetry.KassaMeters.Phase.Load, 1_000);
        }

        RecordAll();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++) RecordAll();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        // Request: 2 tags on the histogram + 3 on the counter; batch: 1 + 1; phase: 2 — per round.
        Assert.Equal(1_001 * 9, seen);
    }
}
