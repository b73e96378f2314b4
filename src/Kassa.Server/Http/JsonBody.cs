using System.Buffers;
using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Engine.Json;

namespace Kassa.Server.Http;

/// <summary>
/// Reads request bodies under the 1 MiB limit and turns every kind of bad JSON into a precise 400
/// instead of an exception: syntax errors are <c>malformed_json</c>, unknown properties
/// <c>unknown_field</c>, wrong types and out-of-range numbers <c>validation_failed</c> naming the field.
/// </summary>
public static class JsonBody
{
    public const int BodyBytesMax = 1 << 20;

    public static async Task<Result<byte[]>> ReadBytesAsync(HttpRequest request, CancellationToken ct)
    {
        var read = await ReadPooledAsync(request, ct);
        if (!read.IsOk) return read.Error!;
        using var body = read.Value;
        return body.Memory.ToArray();
    }

    /// <summary>
    /// A body read into a buffer rented from the shared pool, for a caller that parses it in place (a
    /// 1,000-event meter batch is ~200 KB: a copy of its own is a large object the GC collects only in
    /// generation 2). Dispose gives the buffer back; nothing may read <see cref="Memory"/> after that.
    /// </summary>
    public sealed class PooledBody(byte[] buffer, int length) : IDisposable
    {
        private byte[]? _buffer = buffer;

        public ReadOnlyMemory<byte> Memory { get; } = buffer.AsMemory(0, length);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _buffer, null) is { } b) ArrayPool<byte>.Shared.Return(b);
        }
    }

    public static async Task<Result<PooledBody>> ReadPooledAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > BodyBytesMax) return TooLarge();
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and <= BodyBytesMax ? (int)request.ContentLength.Value + 1 : 4096);
        var length = 0;
        var handedOver = false;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > BodyBytesMax) return TooLarge();
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, BodyBytesMax + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length, buffer.Length - length), ct);
                if (read == 0) break;
                length += read;
                if (length > BodyBytesMax) return TooLarge();
            }
            handedOver = true;
            return new PooledBody(buffer, length);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }
        finally
        {
            if (!handedOver) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static KassaError TooLarge() =>
        new(ErrorCodes.PayloadTooLarge, $"Request bodies may be at most {BodyBytesMax} bytes");

    /// <summary>Parses a body; an empty body is read as <c>{}</c> so missing fields report as such.</summary>
    public static Result<T> Parse<T>(ReadOnlySpan<byte> body) where T : class
    {
        if (IsBlank(body)) body = "{}"u8;
        try
        {
            var value = JsonSerializer.Deserialize<T>(body, KassaJson.Options);
            if (value is null) return new KassaError(ErrorCodes.MalformedJson, "The request body must be a JSON object");
            return value;
        }
        catch (JsonException e)
        {
            return Classify(body, e);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or FormatException or OverflowException or ArgumentException)
        {
            return new KassaError(ErrorCodes.ValidationFailed, "The request body has a value of the wrong type");
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        }
        return true;
    }

    private static KassaError Classify(ReadOnlySpan<byte> body, JsonException e)
    {
        if (!IsWellFormed(body))
            return new KassaError(ErrorCodes.MalformedJson, "The request body is not valid JSON" + Position(e));
        var path = e.Path is { Length: > 1 } p ? ToParam(p) : null;
        if (e.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            var name = path ?? "body";
            return new KassaError(ErrorCodes.UnknownField, $"Unknown field '{name}'", name, [new FieldError(name, "is not a known field")]);
        }
        if (e.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
            return new KassaError(ErrorCodes.MalformedJson, "The request body repeats a property" + (path is null ? "" : $" ('{path}')"), path);
        if (body.TrimStart(" \t\r\n"u8) is [not (byte)'{', ..])
            return new KassaError(ErrorCodes.MalformedJson, "The request body must be a JSON object");
        if (path is null) return new KassaError(ErrorCodes.ValidationFailed, "The request body has a value of the wrong type");
        var reason = e.Message.StartsWith("must ", StringComparison.Ordinal) ? e.Message : "has the wrong type or is out of range";
        return KassaError.Validation(path, reason);
    }

    private static string Position(JsonException e) =>
        e.LineNumber is { } line ? $" (line {line + 1}, position {(e.BytePositionInLine ?? 0) + 1})" : "";

    /// <summary>$.address.city → address.city; $.metadata['a b'] → metadata.a b; $.tiers[2].up_to → tiers[2].up_to.</summary>
    private static string ToParam(string jsonPath)
    {
        var s = jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
        return s.Replace("['", ".", StringComparison.Ordinal).Replace("']", "", StringComparison.Ordinal).TrimStart('.');
    }

    private static bool IsWellFormed(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = KassaJson.MaxDepth });
        try
        {
            while (reader.Read())
            {
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
