using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Server.Hosting;
using Kassa.Server.Http;
using Kassa.Server.Tests.Cli;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// A Kassa server on a real Kestrel socket (so the web server's own refusals can be seen) whose database
/// can be taken away and brought back: the SQLite folder is moved away and back; PostgreSQL is reached
/// through a TCP proxy that drops every connection and refuses new ones while "down", as during a
/// PostgreSQL restart. Writes can also be held (<see cref="PauseWrites"/>) to fill the server's queues.
/// </summary>
public abstract class LiveHost : IAsyncLifetime
{
    private WebApplication? _app;
    private IKassaStore? _inner;
    private string? _unavailable;

    public abstract string Engine { get; }
    public string Url { get; private set; } = "";
    public PausableStore Store { get; private set; } = null!;

    /// <summary>The running server's services (its queues, to see how full they are).</summary>
    public IServiceProvider Services => _app!.Services;

    /// <summary>The engine's own store behind <see cref="Store"/>.</summary>
    protected IKassaStore Inner => _inner!;

    /// <summary>When set, the next call of <c>POST /v1/test_only/flaky</c> throws <see cref="UnavailableException"/>.</summary>
    public bool FailNextFlaky { get; set; }

    /// <summary>How many times <c>POST /v1/test_only/flaky</c> ran to completion.</summary>
    public int FlakyRuns;

    protected abstract Task<string?> CreateDatabaseAsync();
    public abstract Task TakeDatabaseDownAsync();
    public abstract Task BringDatabaseBackAsync();
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    public async ValueTask InitializeAsync()
    {
        var db = await CreateDatabaseAsync();
        if (db is null)
        {
            _unavailable = $"{Engine} is not available: set KASSA_TEST_PG (scripts/test.sh does)";
            return;
        }
        Url = $"http://127.0.0.1:{KassaProcess.FreePort()}";
        var options = new KassaOptions { Db = db, RunWorkers = false, Urls = Url };
        _inner = KassaApp.OpenStore(options);
        await _inner.MigrateAsync();
        await Bootstrap.EnsureFirstAccountAsync(_inner, TimeProvider.System, KassaHost.BootstrapKey, CancellationToken.None);
        Store = new PausableStore(_inner);
        _app = KassaApp.Build(options, Store, b => b.Logging.ClearProviders());
        // A mutation that fails the way an operation fails when the server is stopping, once, when asked.
        _app.MapPost("/v1/test_only/flaky", (HttpContext http, Kassa.Server.Http.Api api) => api.Mutate(http, (_, op) =>
        {
            if (FailNextFlaky)
            {
                FailNextFlaky = false;
                throw new UnavailableException("the server is stopping");
            }
            Interlocked.Increment(ref FlakyRuns);
            return Task.FromResult(Result<string>.Ok(op.RequestId));
        }, requestId => new Reply(200, new Dictionary<string, string> { ["object"] = "test", ["request_id"] = requestId })));
        await _app.StartAsync();
    }

    public void RequireEngine()
    {
        if (_unavailable is not null) Assert.Skip(_unavailable);
    }

    public HttpClient Client(string? key = KassaHost.BootstrapKey)
    {
        RequireEngine();
        var client = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        if (_inner is not null) await _inner.DisposeAsync();
        await DropDatabaseAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteLiveHost : LiveHost
{
    private readonly TempFolder _temp = new("kassa-live-tests");
    private string Folder => Path.Combine(_temp.Path, "data");
    private string Away => Path.Combine(_temp.Path, "away");
    public override string Engine => "sqlite";

    protected override Task<string?> CreateDatabaseAsync()
    {
        Directory.CreateDirectory(Folder);
        return Task.FromResult<string?>($"Data Source={Path.Combine(Folder, "kassa.db")}");
    }

    /// <summary>
    /// As when a volume is unmounted: the file cannot be opened (SQLITE_CANTOPEN). Moving the folder leaves
    /// open files working, unlike an unmount, so the store's kept writer connection is closed too.
    /// </summary>
    public override async Task TakeDatabaseDownAsync()
    {
        SqliteConnection.ClearAllPools();
        await ((SqliteStore)Inner).DropConnectionsAsync();
        Directory.Move(Folder, Away);
        // A connection the background checkpointer had open at the move goes back to the pool; drop it too.
        SqliteConnection.ClearAllPools();
    }

    public override Task BringDatabaseBackAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Move(Away, Folder);
        return Task.CompletedTask;
    }

    protected override Task DropDatabaseAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresLiveHost : LiveHost
{
    private readonly PostgresHost _database = new();
    private TcpProxy? _proxy;
    public override string Engine => "postgres";

    protected override async Task<string?> CreateDatabaseAsync()
    {
        var db = await _database.CreateFreshDatabaseAsync();
        if (db is null) return null;
        var builder = new NpgsqlConnectionStringBuilder(db);
        _proxy = new TcpProxy(builder.Host!, builder.Port);
        builder.Host = "127.0.0.1";
        builder.Port = _proxy.Port;
        builder.Timeout = 5;
        return builder.ConnectionString;
    }

    public override Task TakeDatabaseDownAsync()
    {
        _proxy!.Down();
        return Task.CompletedTask;
    }

    public override Task BringDatabaseBackAsync()
    {
        _proxy!.Up();
        return Task.CompletedTask;
    }

    protected override async Task DropDatabaseAsync()
    {
        if (_proxy is not null) await _proxy.DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>A store whose writes can be held at the door, to fill the queues in front of it.</summary>
public sealed class PausableStore(IKassaStore inner) : IKassaStore
{
    private volatile TaskCompletionSource? _paused;

    public void PauseWrites() => _paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResumeWrites() => Interlocked.Exchange(ref _paused, null)?.TrySetResult();

    public string Engine => inner.Engine;
    public string Describe() => inner.Describe();
    public Task MigrateAsync(CancellationToken ct = default) => inner.MigrateAsync(ct);
    public Task PingAsync(CancellationToken ct = default) => inner.PingAsync(ct);
    public Kassa.Engine.Balances.BalanceCache? BalanceMemory => inner.BalanceMemory;
    public Task<T> ReadAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default) => inner.ReadAsync(work, ct);

    public async Task<T> WriteAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        if (_paused is { } paused) await paused.Task;
        return await inner.WriteAsync(work, commitIf, ct);
    }

    public async Task<Committed<T>> WriteCommittedAsync<T>(Func<IStoreSession, Task<T>> work, Func<T, bool>? commitIf = null, CancellationToken ct = default)
    {
        if (_paused is { } paused) await paused.Task;
        return await inner.WriteCommittedAsync(work, commitIf, ct);
    }

    public async Task<T> WriteRollupsAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default)
    {
        if (_paused is { } paused) await paused.Task;
        return await inner.WriteRollupsAsync(work, ct);
    }

    public async Task<T> WriteEventIndexAsync<T>(Func<IStoreSession, Task<T>> work, CancellationToken ct = default)
    {
        if (_paused is { } paused) await paused.Task;
        return await inner.WriteEventIndexAsync(work, ct);
    }

    // The host disposes the inner store itself.
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Relays loopback TCP connections to a server. <see cref="Down"/> resets every relayed connection and
/// resets new ones at once (a database that restarts); <see cref="Up"/> relays again.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly List<TcpClient> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _down;

    public TcpProxy(string host, int port)
    {
        (_host, _port) = (host, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public void Down()
    {
        _down = true;
        lock (_open)
        {
            foreach (var c in _open) Reset(c);
            _open.Clear();
        }
    }

    public void Up() => _down = false;

    private static void Reset(TcpClient c)
    {
        try
        {
            c.Client.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        c.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_down) Reset(client);
            else _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_host, _port);
            lock (_open)
            {
                if (_down)
                {
                    Reset(client);
                    return;
                }
                _open.Add(client);
                _open.Add(upstream);
            }
            var up = client.GetStream().CopyToAsync(upstream.GetStream());
            var down = upstream.GetStream().CopyToAsync(client.GetStream());
            await Task.WhenAny(up, down);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(client);
                _open.Remove(upstream);
            }
            Reset(client);
            Reset(upstream);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Down();
        _stop.Dispose();
    }
}

/// <summary>A raw HTTP/1.1 exchange over a socket, for requests an HTTP client would refuse to send.</summary>
public static class RawHttp
{
    public sealed record Response(int Status, Dictionary<string, string> Headers, string Body);

    public static async Task<Response> SendAsync(string url, byte[] request)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        await using var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request);
        }
        catch (IOException)
        {
            // The server may answer and close before it read everything; the answer is still there.
        }
        using var buffer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(buffer);
        }
        catch (IOException)
        {
            // A reset after the answer was written.
        }
        var text = Encoding.Latin1.GetString(buffer.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"no HTTP response: '{text}'");
        var lines = text[..split].Split("\r\n");
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return new Response(int.Parse(lines[0].Split(' ')[1]), headers, text[(split + 4)..]);
    }

    /// <summary>A GET with <c>Connection: close</c>; <paramref name="headers"/> are raw lines (bytes as given, Latin-1).</summary>
    public static Task<Response> GetAsync(string url, string target, params string[] headers)
    {
        var uri = new Uri(url);
        var text = $"GET {target} HTTP/1.1\r\nHost: {uri.Authority}\r\nAuthorization: Bearer {KassaHost.BootstrapKey}\r\n"
                   + string.Concat(headers.Select(h => h + "\r\n")) + "Connection: close\r\n\r\n";
        return SendAsync(url, Encoding.Latin1.GetBytes(text));
    }
}
