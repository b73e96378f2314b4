using System.Net.Http.Headers;
using Kassa.Engine.Accounts;
using Kassa.Engine.Storage;
using Kassa.Server.Hosting;
using Kassa.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// One Kassa server per test class on a fresh database of one engine, driven through an in-memory
/// test server. The HTTP suite is written once against this type and runs on both engines.
/// </summary>
public abstract class KassaHost : IAsyncLifetime
{
    public const string BootstrapKey = "sk_test_kassatestsuitebootstrapkey0001";
    private WebApplication? _app;
    private readonly List<(WebApplication App, IKassaStore Store)> _extraNodes = [];
    private string? _unavailable;
    private KassaOptions? _options;

    public ShiftableClock Clock { get; } = new();
    // Both skip the calling test when the engine is unavailable (as Client does), rather than a NullReferenceException.
    public IKassaStore Store { get { RequireEngine(); return _store!; } private set => _store = value; }
    private IKassaStore? _store;
    public CreateAccount.Created Account { get { RequireEngine(); return _account!; } private set => _account = value; }
    private CreateAccount.Created? _account;
    public abstract string Engine { get; }

    /// <summary>The options the server was built with (for tests that build a second component the same way).</summary>
    public KassaOptions Options => _options!;

    /// <summary>The server's services (e.g. the mutation batcher's counters).</summary>
    public IServiceProvider Services => _app!.Services;

    /// <summary>Settings a subclass may change (e.g. a low rate limit).</summary>
    protected virtual void Configure(KassaOptions options)
    {
    }

    /// <summary>Returns the connection string of a fresh database, or null when the engine is not available here.</summary>
    protected abstract Task<string?> CreateDatabaseAsync();

    public async ValueTask InitializeAsync()
    {
        var db = await CreateDatabaseAsync();
        if (db is null)
        {
            _unavailable = $"{Engine} is not available: set KASSA_TEST_PG (scripts/test.sh does)";
            return;
        }
        var options = new KassaOptions { Db = db, Time = Clock, RunWorkers = false, Urls = "http://127.0.0.1:0" };
        Configure(options);
        _options = options;
        Store = KassaApp.OpenStore(options);
        await Store.MigrateAsync();
        Account = (await Bootstrap.EnsureFirstAccountAsync(Store, Clock, BootstrapKey, CancellationToken.None))!;
        _app = KassaApp.Build(options, Store, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
        });
        // A route that fails on purpose, to prove that a bug answers a logged 500 envelope.
        _app.MapGet("/v1/test_only/boom", (HttpContext _) => throw new InvalidOperationException("boom"));
        await _app.StartAsync();
    }

    /// <summary>Skips the calling test when this engine is not available (never under CI=true: the fixture fails instead).</summary>
    public void RequireEngine()
    {
        if (_unavailable is not null) Assert.Skip(_unavailable);
    }

    /// <summary>A client authenticated with <paramref name="key"/> (default: the first account's test secret key).</summary>
    public HttpClient Client(string? key = BootstrapKey)
    {
        RequireEngine();
        var client = TestClient(_app!);
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>
    /// Another server node on the same database, with its own store (connection pool, SQLite write
    /// gate), key cache and rate limits: what two processes share is only the database.
    /// </summary>
    public async Task<HttpClient> AnotherNodeClientAsync(string key = BootstrapKey)
    {
        RequireEngine();
        var store = KassaApp.OpenStore(_options!);
        var app = KassaApp.Build(_options!, store, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        lock (_extraNodes) _extraNodes.Add((app, store));
        var client = TestClient(app);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A second store on the same database (its own pool and SQLite write gate), as another process would have; the caller disposes it.</summary>
    public IKassaStore OpenAnotherStore()
    {
        RequireEngine();
        return KassaApp.OpenStore(_options!);
    }

    /// <summary>An in-memory client of <paramref name="app"/>, recording its exchanges when KASSA_RECORD_EXCHANGES is set.</summary>
    private HttpClient TestClient(WebApplication app)
    {
        if (ExchangeRecorder.FilePath is null) return app.GetTestClient();
        var server = app.GetTestServer();
        return new HttpClient(new ExchangeRecorder(Engine) { InnerHandler = server.CreateHandler() }) { BaseAddress = server.BaseAddress };
    }

    /// <summary>A second (third, …) account, for isolation tests.</summary>
    public async Task<CreateAccount.Created> NewAccountAsync(string name = "Other account")
    {
        RequireEngine();
        var result = await Store.WriteAsync(s => CreateAccount.Execute(s, Clock.GetUtcNow(), name), r => r.IsOk);
        return result.Value!;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var (app, store) in _extraNodes)
            {
                await app.DisposeAsync();
                await store.DisposeAsync();
            }
            if (_app is not null) await _app.DisposeAsync();
            if (_store is not null) await _store.DisposeAsync();
            await DropDatabaseAsync();
        }
        catch (Exception e)
        {
            // The runner reports a fixture's failure as "Test Class Cleanup Failure" without its exception;
            // scripts/test.sh prints this file when it exists, so the cause is in the log.
            File.AppendAllText(CleanupFailuresPath, $"{DateTimeOffset.UtcNow:O} {GetType().Name} ({Engine}) cleanup failed:{Environment.NewLine}{e}{Environment.NewLine}");
            throw;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Where fixture cleanup failures are written in full (KASSA_TEST_CLEANUP_LOG, else a file under the temp directory).</summary>
    public static string CleanupFailuresPath =>
        Environment.GetEnvironmentVariable("KASSA_TEST_CLEANUP_LOG") is { Length: > 0 } path ? path : Path.Combine(Path.GetTempPath(), "kassa-test-cleanup-failures.log");

    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;
}

public class SqliteHost : KassaHost
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kassa-tests", Guid.NewGuid().ToString("N"));
    public override string Engine => "sqlite";

    /// <summary>The main database file, for tests that open a connection of their own (as another process would).</summary>
    public string DatabasePath => Path.Combine(_dir, "kassa.db");

    protected override Task<string?> CreateDatabaseAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.FromResult<string?>($"Data Source={Path.Combine(_dir, "kassa.db")}");
    }

    protected override Task DropDatabaseAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a pooled connection; the temp folder is cleaned by the OS.
        }
        return Task.CompletedTask;
    }
}

/// <summary>
/// A fresh database on the server named by <c>KASSA_TEST_PG</c>. Without it the tests skip locally;
/// under <c>CI=true</c> a missing PostgreSQL is a failure, never a silent skip.
/// </summary>
public class PostgresHost : KassaHost
{
    private string? _database;
    private string? _server;
    public override string Engine => "postgres";

    public static string? ServerConnectionString()
    {
        var server = Environment.GetEnvironmentVariable("KASSA_TEST_PG");
        if (string.IsNullOrWhiteSpace(server))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException("CI=true but KASSA_TEST_PG is not set: the PostgreSQL suite must run in CI");
            return null;
        }
        return server;
    }

    /// <summary>For tests that start their own server process on a fresh database (dropped on dispose).</summary>
    public Task<string?> CreateFreshDatabaseAsync() => CreateDatabaseAsync();

    protected override async Task<string?> CreateDatabaseAsync()
    {
        _server = ServerConnectionString();
        if (_server is null) return null;
        _database = "kassa_test_" + Guid.NewGuid().ToString("N")[..16];
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand($"CREATE DATABASE {_database}", connection)) await command.ExecuteNonQueryAsync();
        return $"{_server};Database={_database}";
    }

    protected override async Task DropDatabaseAsync()
    {
        if (_database is null || _server is null) return;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
