using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Kassa.Server.Tests.Cli;

/// <summary>Runs the real <c>kassa</c> executable (built next to the tests) as a child process.</summary>
public static class KassaProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "kassa.dll");

    public sealed record Outcome(int ExitCode, string Stdout, string Stderr);

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("KASSA_DB");
        psi.Environment.Remove("KASSA_URLS");
        psi.Environment.Remove("KASSA_BOOTSTRAP_KEY");
        // Servers under test start at once; the warm-up has a test of its own (CliTests) that turns it on.
        psi.Environment["KASSA_WARMUP_SECONDS"] = "0";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        return psi;
    }

    public static async Task<Outcome> RunAsync(params string[] args) => await RunAsync(args, null);

    public static async Task<Outcome> RunAsync(string[] args, IDictionary<string, string>? env, TimeSpan? timeout = null)
    {
        using var process = Process.Start(StartInfo(args, env))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kassa {string.Join(' ', args)} did not finish in time");
        }
        return new Outcome(process.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A <c>kassa serve</c> child process on a free loopback port, killed on dispose.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private ServerProcess(Process process, string url)
    {
        _process = process;
        Url = url;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Url { get; }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static async Task<ServerProcess> StartAsync(string db, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var url = $"http://127.0.0.1:{KassaProcess.FreePort()}";
        var process = Process.Start(KassaProcess.StartInfo(["serve", "--urls", url, "--db", db], env, workingDirectory))!;
        var server = new ServerProcess(process, url);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"kassa serve exited with {process.ExitCode}: {server.Output}");
            try
            {
                if ((await http.GetAsync(url + "/readyz")).IsSuccessStatusCode) return server;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        await server.DisposeAsync();
        throw new TimeoutException("kassa serve did not become ready in 60 s");
    }

    /// <summary>Waits for the process to end on its own (a fault that kills it); false if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private bool _disposed;

    /// <summary>Kills the process with SIGKILL (no graceful shutdown). Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
