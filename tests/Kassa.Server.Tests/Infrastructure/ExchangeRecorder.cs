using System.Text;
using System.Text.Json;

namespace Kassa.Server.Tests.Infrastructure;

/// <summary>
/// Appends every HTTP exchange of the in-memory test server to an NDJSON file when
/// <c>KASSA_RECORD_EXCHANGES</c> names one. The contract test (<c>api/contract/validate.mjs</c>) then
/// checks each recorded request and response against the committed <c>api/openapi.json</c> with an
/// independent validator, so the document stays true to what the server really does.
/// </summary>
public sealed class ExchangeRecorder(string engine) : DelegatingHandler
{
    /// <summary>The file named by the environment, or null when recording is off (the default).</summary>
    public static readonly string? FilePath = Environment.GetEnvironmentVariable("KASSA_RECORD_EXCHANGES") is { Length: > 0 } p ? p : null;

    /// <summary>
    /// Bodies past this size are recorded as truncated and not validated: the suite's large bodies are
    /// the ones that test the 1 MiB limit, and their refusal is what matters, not their text.
    /// </summary>
    public const int BodyCharsMax = 256 * 1024;

    // Test classes run in parallel in one process: one lock keeps each line whole.
    private static readonly Lock Gate = new();
    private static readonly UTF8Encoding NoBom = new(encoderShouldEmitUTF8Identifier: false);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string? requestBody = null;
        if (request.Content is not null)
        {
            // Buffer the content so it can be read here and still be sent (StringContent allows both).
            await request.Content.LoadIntoBufferAsync(cancellationToken);
            requestBody = await request.Content.ReadAsStringAsync(cancellationToken);
        }
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var responseBody = await response.Content.ReadAsStringAsync(cancellationToken);
        var line = JsonSerializer.Serialize(new
        {
            engine,
            method = request.Method.Method,
            path = request.RequestUri!.AbsolutePath,
            query = request.RequestUri.Query.TrimStart('?'),
            request_headers = Headers(request.Headers, request.Content?.Headers),
            request_body = Bounded(requestBody),
            request_body_truncated = requestBody is { Length: > BodyCharsMax },
            status = (int)response.StatusCode,
            response_headers = Headers(response.Headers, response.Content.Headers),
            response_body = Bounded(responseBody),
            response_body_truncated = responseBody.Length > BodyCharsMax,
        });
        lock (Gate) File.AppendAllText(FilePath!, line + "\n", NoBom);
        return response;
    }

    private static string? Bounded(string? text) => text is { Length: > BodyCharsMax } ? null : text;

    private static Dictionary<string, string> Headers(System.Net.Http.Headers.HttpHeaders headers, System.Net.Http.Headers.HttpHeaders? content)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in headers.NonValidated) all[name.ToLowerInvariant()] = string.Join(", ", values);
        if (content is not null)
            foreach (var (name, values) in content.NonValidated) all[name.ToLowerInvariant()] = string.Join(", ", values);
        return all;
    }
}
