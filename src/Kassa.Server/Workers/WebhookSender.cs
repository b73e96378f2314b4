using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Kassa.Core.Webhooks;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;
using Kassa.Engine.Webhooks;

namespace Kassa.Server.Workers;

/// <summary>
/// Sends one event to one endpoint the Standard Webhooks way. The address is checked after DNS
/// resolution on every attempt, inside the connect step itself, so a name that resolves to a
/// private or metadata address (or is re-pointed there later) is never connected to. Redirects are
/// not followed; 15 s is the whole budget for connect, send and response headers.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    public const int ErrorLengthMax = 500;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    public WebhookSender(TimeProvider time)
    {
        _time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            MaxConnectionsPerServer = 8,
            MaxResponseHeadersLength = 64,
            ConnectCallback = ConnectCheckedAsync,
        };
        _http = new HttpClient(handler) { Timeout = WebhookRetry.ResponseTimeout };
    }

    /// <summary>The livemode of the endpoint being called travels with the request, for the address check.</summary>
    private static readonly HttpRequestOptionsKey<bool> Livemode = new("kassa.livemode");

    private static async ValueTask<Stream> ConnectCheckedAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var live = !context.InitialRequestMessage.Options.TryGetValue(Livemode, out var l) || l;
        var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
        var allowed = addresses.Where(a => WebhookUrlPolicy.CheckAddress(a, live) is null).ToArray();
        if (allowed.Length == 0)
        {
            var reason = addresses.Length == 0 ? "the host name did not resolve" : WebhookUrlPolicy.CheckAddress(addresses[0], live);
            throw new HttpRequestException($"refused to connect to {context.DnsEndPoint.Host}: {reason}");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<AttemptResult> SendAsync(ClaimedDelivery d, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(EventResource.From(d.Event), KassaJson.Options);
        var timestamp = now.ToUnixTimeSeconds();
        var keys = new List<byte[]>();
        if (WebhookSecret.TryParse(d.Secret, out var key)) keys.Add(key);
        if (d.PreviousSecret is not null && d.PreviousSecretExpiresAt > now && WebhookSecret.TryParse(d.PreviousSecret, out var previous)) keys.Add(previous);

        if (keys.Count == 0)
            return new AttemptResult(null, false, "the endpoint has no valid signing secret; rotate it", 0, null);

        using var request = new HttpRequestMessage(HttpMethod.Post, d.Url) { Content = new ByteArrayContent(body) };
        request.Options.Set(Livemode, d.Livemode);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("webhook-id", d.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", StandardWebhooks.SignatureHeader(keys, d.EventId, timestamp, body));
        request.Headers.UserAgent.ParseAdd("Kassa-Webhooks/1.0");

        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var retryAfter = WebhookRetry.ParseRetryAfter(response.Headers.RetryAfter?.ToString(), now);
            return new AttemptResult((int)response.StatusCode, false, response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}", Elapsed(started), retryAfter);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new AttemptResult(null, true, $"no response within {WebhookRetry.ResponseTimeout.TotalSeconds:0} s", Elapsed(started), null);
        }
        catch (HttpRequestException e)
        {
            return new AttemptResult(null, false, Truncate(e.InnerException?.Message is { } inner ? $"{e.Message} ({inner})" : e.Message), Elapsed(started), null);
        }
    }

    private static long Elapsed(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    private static string Truncate(string s) => s.Length <= ErrorLengthMax ? s : s[..ErrorLengthMax];

    public void Dispose() => _http.Dispose();
}
