using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Engine.Json;

namespace Kassa.Server.Http;

/// <summary>Writes JSON bodies and error envelopes; every API response leaves through here.</summary>
public static class ApiResponses
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string WrittenItem = "kassa.written";

    public static string RequestId(this HttpContext http) => (string)http.Items[RequestPipeline.RequestIdItem]!;

    public static Task WriteError(HttpContext http, KassaError error)
    {
        var (status, body) = ApiErrors.Render(error, http.RequestId());
        return WriteBytes(http, status, body);
    }

    /// <summary>
    /// A refusal the client should retry (<c>rate_limited</c>, <c>overloaded</c>, <c>unavailable</c>):
    /// the error with a <c>Retry-After</c> of at least one second.
    /// </summary>
    public static Task WriteRetryable(HttpContext http, KassaError error, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return WriteError(http, error);
    }

    public static Task WriteJson<T>(HttpContext http, int status, T value) =>
        WriteBytes(http, status, JsonSerializer.SerializeToUtf8Bytes(value, KassaJson.Options));

    public static async Task WriteBytes(HttpContext http, int status, byte[] body)
    {
        http.Items[WrittenItem] = true;
        // Every 429 and 503 says when to come back (the document promises it, OpenApiDocument), the provider_unavailable
        // a use case returns as an error value too; the rate limit, a full queue and the pipeline set their own wait.
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable
            && !http.Response.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.RetryAfter))
            http.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(RequestPipeline.UnavailableRetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.StatusCode = status;
        http.Response.ContentType = JsonContentType;
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted);
    }
}
