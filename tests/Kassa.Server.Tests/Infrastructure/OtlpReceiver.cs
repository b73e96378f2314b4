using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// A stand-in OTLP/HTTP collector on 127.0.0.1 (a real socket, no internet): it accepts POSTs on
/// <c>/v1/metrics</c> and <c>/v1/traces</c> as a collector would (200, empty protobuf answer) and records
/// each one's path, content type and body.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    public sealed record Export(string Path, string ContentType, byte[] Body);

    private readonly WebApplication _app;

    public ConcurrentQueue<Export> Exports { get; }

    public Uri Endpoint { get; }

    private OtlpReceiver(WebApplication app, Uri endpoint, ConcurrentQueue<Export> exports)
    {
        _app = app;
        Endpoint = endpoint;
        Exports = exports;
    }

    /// <summary>Starts a receiver synchronously, so a host's Configure can hand its address to the server.</summary>
    public static OtlpReceiver Start()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var exports = new ConcurrentQueue<Export>();
        app.MapPost("/v1/{signal}", async (HttpContext ctx) =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            exports.Enqueue(new Export(ctx.Request.Path, ctx.Request.ContentType ?? "", ms.ToArray()));
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/x-protobuf";
        });
        app.StartAsync().GetAwaiter().GetResult();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OtlpReceiver(app, new Uri(address), exports);
    }

    /// <summary>The exports received so far on <paramref name="path"/>.</summary>
    public IReadOnlyList<Export> On(string path) => [.. Exports.Where(e => e.Path == path)];

    /// <summary>Waits up to <paramref name="timeout"/> for an export on <paramref name="path"/> whose body contains every one of <paramref name="texts"/>.</summary>
    public async Task<Export?> WaitForAsync(string path, TimeSpan timeout, params string[] texts)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = On(path).FirstOrDefault(e => texts.All(t => Contains(e.Body, t)));
            if (found is not null || DateTime.UtcNow > until) return found;
            await Task.Delay(100);
        }
    }

    /// <summary>Whether the protobuf body holds <paramref name="text"/> (names and attribute values are stored as plain UTF-8).</summary>
    public static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
