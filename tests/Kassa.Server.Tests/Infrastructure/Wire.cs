using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kassa.Server.Tests.Infrastructure;

/// <summary>Small helpers that keep the HTTP tests about the contract, not about plumbing.</summary>
public static class Wire
{
    public static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Send(
        this HttpClient client, HttpMethod method, string path, object? body = null, string? idempotencyKey = null, string? rawBody = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (rawBody is not null) request.Content = new StringContent(rawBody, Encoding.UTF8, "application/json");
        else if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json") json = JsonNode.Parse(text);
        return (response.StatusCode, json, response);
    }

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Post(this HttpClient c, string path, object? body = null, string? idempotencyKey = null) =>
        c.Send(HttpMethod.Post, path, body, idempotencyKey);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Put(this HttpClient c, string path, object? body = null, string? idempotencyKey = null) =>
        c.Send(HttpMethod.Put, path, body, idempotencyKey);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Patch(this HttpClient c, string path, object? body = null) =>
        c.Send(HttpMethod.Patch, path, body);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Get(this HttpClient c, string path) =>
        c.Send(HttpMethod.Get, path);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Delete(this HttpClient c, string path, string? idempotencyKey = null) =>
        c.Send(HttpMethod.Delete, path, null, idempotencyKey);

    /// <summary>Asserts the spec §1.2 error envelope: status, type, code, and the request id matching the header.</summary>
    public static JsonNode AssertError(this (HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) r, HttpStatusCode status, string type, string code, string? param = null)
    {
        Assert.Equal(status, r.Status);
        Assert.NotNull(r.Body);
        var error = r.Body!["error"]!;
        Assert.Equal(type, (string?)error["type"]);
        Assert.Equal(code, (string?)error["code"]);
        if (param is not null) Assert.Equal(param, (string?)error["param"]);
        var requestId = r.Response.Headers.GetValues("Request-Id").Single();
        Assert.StartsWith("req_", requestId);
        // A replayed response carries the body of the request it replays, named by Original-Request.
        var expected = r.Response.Headers.TryGetValues("Original-Request", out var original) ? original.Single() : requestId;
        Assert.Equal(expected, (string?)error["request_id"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        return error;
    }

    public static string NewId(string prefix = "user") => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 21, 64)];
}
