namespace Kassa.Server.Hosting;

/// <summary>Settings of one server process, from flags and environment variables.</summary>
public sealed class KassaOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>Listen addresses (<c>--urls</c>, <c>KASSA_URLS</c>).</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>Connection string or SQLite path (<c>--db</c>, <c>KASSA_DB</c>); null is the SQLite default.</summary>
    public string? Db { get; set; }

    /// <summary>A test secret key for the first account (<c>KASSA_BOOTSTRAP_KEY</c>).</summary>
    public string? BootstrapKey { get; set; }

    /// <summary>Requests per second per API key on this node (<c>KASSA_RATE_LIMIT</c>); 0 turns limiting off.</summary>
    public int RateLimitPerSecond { get; set; } = 50_000;

    /// <summary>The clock; tests pass a manual one.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Whether to run background workers (tests that drive time by hand turn them off).</summary>
    public bool RunWorkers { get; set; } = true;

    /// <summary>Maps the one-transaction-per-request baseline routes for benchmarks (<c>KASSA_BENCH_ROUTES=1</c>).</summary>
    public bool BenchRoutes { get; set; }

    /// <summary>How often the webhook worker looks for due deliveries when nothing woke it.</summary>
    public TimeSpan WebhookPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node holds a claimed delivery; after that another node may send it.</summary>
    public TimeSpan WebhookLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How old an unsettled payment attempt must be before the reconcile worker completes it
    /// (<c>KASSA_PAYMENT_RECONCILE_GRACE_SECONDS</c>, 0–3600; 30 s by default). Crash tests lower it so the
    /// restarted process completes the killed one's attempt at once; in production keep it far above a
    /// provider call's time, so a request still charging is left alone.
    /// </summary>
    public TimeSpan PaymentReconcileGrace { get; set; } = Kassa.Engine.Payments.ReconcilePayments.Grace;

    /// <summary>Failures forced inside the group commits (tests only; unarmed it does nothing).</summary>
    public Kassa.Engine.Common.GroupCommitFaults GroupCommitFaults { get; set; } = new();

    /// <summary><c>json</c> for one JSON object per log line (<c>KASSA_LOG_FORMAT</c>), else one plain line.</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>
    /// The key that encrypts provider secrets (<c>KASSA_SECRETS_KEY</c>, base64 of 32 bytes). Required with
    /// PostgreSQL (every node must read the same secrets); without it SQLite uses a key file next to the database.
    /// </summary>
    public string? SecretsKey { get; set; }

    /// <summary>Stripe's API base, the timeout of one Stripe call and Stripe.net's retries (<c>KASSA_STRIPE_API_BASE</c>: tests and development only).</summary>
    public Kassa.Stripe.StripeOptions Stripe { get; set; } = new();

    /// <summary>OTLP export of metrics and traces (the standard <c>OTEL_*</c> variables); see docs/operations.md.</summary>
    public Kassa.Server.Telemetry.TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>
    /// Whether API mutations share group-committed transactions (ADR 0010); null for the default, on for both
    /// engines (PostgreSQL since 2026-12-04: ADR 0010, "one savepoint name … loops sharded by customer").
    /// </summary>
    public bool? MutationBatching { get; set; }

    /// <summary>Most requests in one mutation batch; null for the engine's default (SQLite 256, PostgreSQL 64).</summary>
    public int? MutationBatchSizeMax { get; set; }

    /// <summary>Mutation writer loops on PostgreSQL; null for the default (SQLite always has one).</summary>
    public int? MutationWritersPostgres { get; set; }

    /// <summary>Balance writer loops on PostgreSQL (checks, tracks, locks); null for the default (SQLite always has one).</summary>
    public int? BalanceWritersPostgres { get; set; }

    /// <summary>How long a mutation writer waits for more requests once it has one (zero: it takes only what is waiting).</summary>
    public TimeSpan MutationBatchWait { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The longest <c>kassa serve</c> warms its hot paths on a scratch store before it listens; it stops sooner once the
    /// JIT settles (<c>KASSA_WARMUP_SECONDS</c>; zero: none; a Debug build's default is none).
    /// </summary>
    public TimeSpan WarmUp { get; set; } = Cli.WarmUp.DefaultFor(typeof(KassaOptions).Assembly);

    public static KassaOptions FromEnvironment()
    {
        var o = new KassaOptions();
        o.Telemetry = Kassa.Server.Telemetry.TelemetryOptions.FromEnvironment();
        if (Environment.GetEnvironmentVariable("KASSA_URLS") is { Length: > 0 } urls) o.Urls = urls;
        if (Environment.GetEnvironmentVariable("KASSA_DB") is { Length: > 0 } db) o.Db = db;
        if (Environment.GetEnvironmentVariable("KASSA_BOOTSTRAP_KEY") is { Length: > 0 } key) o.BootstrapKey = key;
        if (Environment.GetEnvironmentVariable("KASSA_LOG_FORMAT") is { Length: > 0 } format) o.LogFormat = format;
        if (Environment.GetEnvironmentVariable("KASSA_RATE_LIMIT") is { Length: > 0 } limit)
        {
            if (!int.TryParse(limit, out var perSecond) || perSecond < 0)
                throw new ArgumentException("KASSA_RATE_LIMIT must be a whole number of requests per second (0 turns limiting off)");
            o.RateLimitPerSecond = perSecond;
        }
        o.BenchRoutes = Environment.GetEnvironmentVariable("KASSA_BENCH_ROUTES") == "1";
        if (Environment.GetEnvironmentVariable("KASSA_SECRETS_KEY") is { Length: > 0 } secretsKey) o.SecretsKey = secretsKey;
        if (Environment.GetEnvironmentVariable("KASSA_STRIPE_API_BASE") is { Length: > 0 } stripeBase)
        {
            if (!Uri.TryCreate(stripeBase, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException("KASSA_STRIPE_API_BASE must be an http(s) URL (a fake Stripe, for tests and development only)");
            o.Stripe.ApiBase = stripeBase.TrimEnd('/');
        }
        if (WholeNumber("KASSA_WEBHOOK_LEASE_SECONDS", 1, 3600,
                "KASSA_WEBHOOK_LEASE_SECONDS must be a whole number of seconds from 1 to 3600") is { } lease) o.WebhookLease = TimeSpan.FromSeconds(lease);
        if (WholeNumber("KASSA_PAYMENT_RECONCILE_GRACE_SECONDS", 0, 3600,
                "KASSA_PAYMENT_RECONCILE_GRACE_SECONDS must be a whole number of seconds from 0 to 3600") is { } grace) o.PaymentReconcileGrace = TimeSpan.FromSeconds(grace);
        if (Environment.GetEnvironmentVariable("KASSA_MUTATION_BATCHING") is { Length: > 0 } batching)
        {
            if (batching is not ("0" or "1")) throw new ArgumentException("KASSA_MUTATION_BATCHING must be 1 (on; the default) or 0 (one transaction per mutation)");
            o.MutationBatching = batching == "1";
        }
        if (WholeNumber("KASSA_MUTATION_BATCH_SIZE", 1, Http.MutationBatcher.BatchSizeLimit,
                $"KASSA_MUTATION_BATCH_SIZE must be a whole number from 1 to {Http.MutationBatcher.BatchSizeLimit}") is { } batchSize) o.MutationBatchSizeMax = batchSize;
        if (WholeNumber("KASSA_MUTATION_WRITERS", 1, Http.MutationBatcher.WritersLimit,
                $"KASSA_MUTATION_WRITERS must be a whole number from 1 to {Http.MutationBatcher.WritersLimit}") is { } writers) o.MutationWritersPostgres = writers;
        if (WholeNumber("KASSA_BALANCE_WRITERS", 1, Kassa.Engine.Balances.BalanceEngine.WritersLimit,
                $"KASSA_BALANCE_WRITERS must be a whole number from 1 to {Kassa.Engine.Balances.BalanceEngine.WritersLimit}") is { } balanceWriters) o.BalanceWritersPostgres = balanceWriters;
        if (WholeNumber("KASSA_MUTATION_BATCH_WAIT_MS", 0, (int)Http.MutationBatcher.BatchWaitLimit.TotalMilliseconds,
                $"KASSA_MUTATION_BATCH_WAIT_MS must be a whole number of milliseconds from 0 to {Http.MutationBatcher.BatchWaitLimit.TotalMilliseconds}") is { } batchWait) o.MutationBatchWait = TimeSpan.FromMilliseconds(batchWait);
        if (WholeNumber("KASSA_WARMUP_SECONDS", 0, (int)Cli.WarmUp.DurationMax.TotalSeconds,
                $"KASSA_WARMUP_SECONDS must be a whole number of seconds from 0 to {Cli.WarmUp.DurationMax.TotalSeconds} (0 turns the warm-up off)") is { } warmUp) o.WarmUp = TimeSpan.FromSeconds(warmUp);
        return o;
    }

    /// <summary>A whole-number setting from the environment: null when unset; refused with <paramref name="message"/> outside <paramref name="min"/>–<paramref name="max"/>.</summary>
    private static int? WholeNumber(string name, int min, int max, string message)
    {
        if (Environment.GetEnvironmentVariable(name) is not { Length: > 0 } text) return null;
        if (!int.TryParse(text, out var value) || value < min || value > max) throw new ArgumentException(message);
        return value;
    }
}
