using Kassa.Engine.Json;
using Kassa.Engine.Storage;
using Kassa.Server.Endpoints;
using Kassa.Server.Http;
using Kassa.Server.Telemetry;
using Kassa.Server.Workers;
using Kassa.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Kassa.Server.Hosting;

/// <summary>Builds the web application: services, middleware order, endpoints. Used by <c>kassa serve</c> and the tests.</summary>
public static class KassaApp
{
    public static WebApplication Build(KassaOptions options, IKassaStore store, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "kassa", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // One limit more than the API's 1 MiB, so the API's own check answers with its envelope.
            k.Limits.MaxRequestBodySize = JsonBody.BodyBytesMax + 1;
            // Kestrel refuses what is over its limits before any middleware runs, with an empty body and
            // no Request-Id. Its limits are set above the API's, which the request pipeline enforces in
            // the error envelope (414 uri_too_long, 431 headers_too_large).
            k.Limits.MaxRequestLineSize = RequestPipeline.ServerRequestLineBytesMax;
            k.Limits.MaxRequestHeadersTotalSize = RequestPipeline.ServerHeaderBytesMax;
            k.Limits.MaxRequestHeaderCount = RequestPipeline.ServerHeaderCountMax;
            // Kestrel refuses a header byte past 0x7F bare; read as Latin-1 it reaches the pipeline,
            // which refuses it with 400 invalid_header naming the header.
            k.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json") builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Off altogether: its own messages are the request start and finish lines (Information, filtered above; the
        // request log is ours), but while it is enabled at any level Hosting starts an Activity per request to
        // correlate them — 3–5 µs of a hot check's ~55 µs on the request threads (bench/README.md, seventeenth session).
        // Traces, when configured (OTEL_EXPORTER_OTLP_ENDPOINT), still get their spans through the tracer's listener.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // A failed start (port in use) is reported by the CLI in one line; the host would add a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);

        builder.Services.ConfigureHttpJsonOptions(o => KassaJson.Configure(o.SerializerOptions));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Time);
        builder.Services.AddSingleton(store);
        builder.Services.AddKassaTelemetry(options.Telemetry);
        builder.Services.AddSingleton<KeyCache>();
        builder.Services.AddSingleton(new RateLimits(options.RateLimitPerSecond));
        builder.Services.AddSingleton<Api>();
        builder.Services.AddOpenApi("v1", o => OpenApiDocument.Configure(o));
        builder.Services.AddSingleton<WebhookSignal>();
        builder.Services.AddSingleton(options.GroupCommitFaults);
        builder.Services.AddSingleton(new Kassa.Engine.Balances.BalanceEngine(store, options.Time, options.GroupCommitFaults, options.BalanceWritersPostgres));
        builder.Services.AddSingleton(new Kassa.Engine.Balances.ReadOnlyCheckQueue(store));
        builder.Services.AddSingleton<Kassa.Engine.TestClocks.ClockTimes>();
        builder.Services.AddSingleton<Kassa.Engine.Payments.SandboxProvider>();
        builder.Services.AddSingleton(Secrets(options, store));
        builder.Services.AddSingleton(options.Stripe);
        builder.Services.AddSingleton<Kassa.Stripe.StripeProviderFactory>();
        builder.Services.AddSingleton<Kassa.Engine.Payments.IConfiguredProviderFactory>(sp => sp.GetRequiredService<Kassa.Stripe.StripeProviderFactory>());
        builder.Services.AddSingleton<Kassa.Engine.Payments.IProviderWebhookReader, Kassa.Stripe.StripeWebhookReader>();
        builder.Services.AddSingleton(sp => new Kassa.Engine.Payments.PaymentProviders(sp.GetRequiredService<Kassa.Engine.Payments.SandboxProvider>(), store,
            sp.GetRequiredService<Kassa.Engine.Payments.SecretBox>(), sp.GetServices<Kassa.Engine.Payments.IConfiguredProviderFactory>(), options.Time));
        builder.Services.AddSingleton<Kassa.Engine.Payments.SandboxWebhookReader>();
        builder.Services.AddSingleton<Kassa.Engine.ProviderWebhooks.ICheckoutCompletedHandler, Kassa.Engine.Checkout.CompleteProviderCheckout>();
        builder.Services.AddSingleton<Kassa.Engine.Payments.IProviderWebhookReader>(sp => sp.GetRequiredService<Kassa.Engine.Payments.SandboxWebhookReader>());
        // The engine's loops always run: without them no balance could change and no event be stored.
        builder.Services.AddHostedService<BalanceEngineWorker>();
        builder.Services.AddSingleton<MutationBatcher>();
        builder.Services.AddHostedService<MutationBatcherWorker>();
        builder.Services.AddSingleton<Kassa.Engine.Metering.IngestQueue>();
        builder.Services.AddHostedService<MeterIngestWorker>();
        if (options.RunWorkers)
        {
            // The roller: usage stays exact without it (raw events above the watermark are read), only slower.
            builder.Services.AddHostedService<MeterRollupWorker>();
            builder.Services.AddHostedService<ExpiredRecordPurgeWorker>();
            builder.Services.AddHostedService<WebhookDeliveryWorker>();
            builder.Services.AddHostedService<BalanceMaintenanceWorker>();
            builder.Services.AddHostedService<SubscriptionRenewalWorker>();
            builder.Services.AddHostedService<PaymentReconcileWorker>();
            builder.Services.AddHostedService<AutoTopUpWorker>();
            builder.Services.AddHostedService<CheckoutExpiryWorker>();
        }
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<RequestPipeline>();
        app.UseRouting();
        app.UseMiddleware<Authentication>();

        OpsEndpoints.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        // Only under /docs: the UI's middleware otherwise matched every request's path against its regular
        // expressions (~1 % of the server's CPU under check load, `perf`).
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase), docs => docs.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.DocumentTitle = "Kassa API reference";
            o.SwaggerEndpoint("/openapi/v1.json", "Kassa API v1");
        }));
        var v1 = app.MapGroup("/v1");
        CustomerEndpoints.Map(v1);
        SubscriptionEndpoints.Map(v1);
        TestClockEndpoints.Map(v1);
        ApiKeyEndpoints.Map(v1);
        AuditEndpoints.Map(v1);
        CatalogEndpoints.Map(v1);
        EventEndpoints.Map(v1);
        EntitlementEndpoints.Map(v1);
        MeteringEndpoints.Map(v1);
        InvoiceEndpoints.Map(v1);
        PaymentEndpoints.Map(v1);
        ProviderEndpoints.Map(v1);
        BillingEndpoints.Map(v1);
        LedgerEndpoints.Map(v1);
        HostedPageEndpoints.Map(v1);
        ProviderWebhookEndpoints.Map(v1);
        DisputeEndpoints.Map(v1);
        CheckoutEndpoints.Map(app, v1);
        if (options.BenchRoutes)
        {
            EntitlementEndpoints.MapBaseline(app);
            MeteringEndpoints.MapBaseline(app);
        }
        return app;
    }

    /// <summary>
    /// The provider secrets' key: <c>KASSA_SECRETS_KEY</c>; else, for SQLite, a key file next to the
    /// database (one node, one file); PostgreSQL without it cannot store secrets, since several nodes
    /// must share the key and Kassa cannot hand one to the others.
    /// </summary>
    public static Kassa.Engine.Payments.SecretBox Secrets(KassaOptions options, IKassaStore store)
    {
        if (options.SecretsKey is { Length: > 0 } key) return Kassa.Engine.Payments.SecretBox.FromBase64Key(key);
        if (store.Engine == "postgres")
        {
            return Kassa.Engine.Payments.SecretBox.Unavailable(
                "KASSA_SECRETS_KEY is not set: with PostgreSQL every node must share the key that encrypts provider secrets. " +
                "Set it on every node to base64 of 32 random bytes (openssl rand -base64 32) and restart.");
        }
        return StoreFactory.SqliteFilePath(options.Db) is { } file
            ? Kassa.Engine.Payments.SecretBox.FromKeyFile(Path.Combine(Path.GetDirectoryName(file)!, "kassa-secrets.key"))
            : Kassa.Engine.Payments.SecretBox.Unavailable("An in-memory database has no folder for a key file: set KASSA_SECRETS_KEY");
    }

    public static IKassaStore OpenStore(KassaOptions options) => StoreFactory.Open(options.Db, options.Time);
}
