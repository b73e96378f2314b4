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
/// A webhook receiver on 127.0.0.1 (a real socket) that records every request and answers as the
/// test commands: a status, a Retry-After, a redirect, or a delay.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Id, string Timestamp, string Signature, byte[] Body, int Status, DateTimeOffset At)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Body);
    }

    public sealed record Answer(int Status, string? RetryAfter = null, string? Location = null, TimeSpan Delay = default);

    private readonly WebApplication _app;
    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Decides each answer; called one request at a time.</summary>
    public Func<Received, Answer> Respond { get; set; } = _ => new Answer(200);

    private readonly object _gate = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hook", async (HttpContext ctx) =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            var probe = new Received(ctx.Request.Headers["webhook-id"].ToString(), ctx.Request.Headers["webhook-timestamp"].ToString(),
                ctx.Request.Headers["webhook-signature"].ToString(), ms.ToArray(), 0, DateTimeOffset.UtcNow);
            Answer answer;
            lock (receiver._gate) answer = receiver.Respond(probe);
            if (answer.Delay > TimeSpan.Zero) await Task.Delay(answer.Delay);
            receiver.Requests.Enqueue(probe with { Status = answer.Status });
            ctx.Response.StatusCode = answer.Status;
            if (answer.RetryAfter is not null) ctx.Response.Headers.RetryAfter = answer.RetryAfter;
            if (answer.Location is not null) ctx.Response.Headers.Location = answer.Location;
        });
        app.MapPost("/elsewhere", (HttpContext ctx) => { receiver.Requests.Enqueue(new Received("redirected", "", "", [], 200, DateTimeOffset.UtcNow)); return Results.Ok(); });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address.TrimEnd('/') + "/hook";
        return receiver;
    }

    /// <summary>Event ids that got a 2xx, each with the number of 2xx answers (more than one = a duplicate).</summary>
    public Dictionary<string, int> Delivered() =>
        Requests.Where(r => r.Status is >= 200 and < 300).GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.Count());

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>Hosts that run the background workers with a fast poll and a short lease, for delivery tests.</summary>
public sealed class SqliteWebhookHost : SqliteHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => WebhookHostSettings.Apply(options);
}

public sealed class PostgresWebhookHost : PostgresHost
{
    protected override void Configure(Kassa.Server.Hosting.KassaOptions options) => WebhookHostSettings.Apply(options);
}

public static class WebhookHostSettings
{
    public static void Apply(Kassa.Server.Hosting.KassaOptions options)
    {
        options.RunWorkers = true;
        options.WebhookPollInterval = TimeSpan.FromMilliseconds(50);
        options.WebhookLease = TimeSpan.FromSeconds(5);
    }

    /// <summary>Polls until <paramref name="done"/> holds, moving the host's clock forward so scheduled retries come due.</summary>
    public static async Task WaitUntil(KassaHost host, Func<bool> done, TimeSpan timeout, TimeSpan? advanceEachStep = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold in time");
            if (advanceEachStep is { } step) host.Clock.Advance(step);
            await Task.Delay(100);
        }
    }
}
