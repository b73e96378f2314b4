using System.Data.Common;
using System.Diagnostics;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;
using Kassa.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Kassa.Server.Http;

/// <summary>
/// The outermost middleware: gives every request its <c>Request-Id</c>; refuses request lines and
/// headers the API does not read (too long, too many, bytes outside printable ASCII) in the error
/// envelope; turns exceptions into an envelope (503 <c>unavailable</c> with Retry-After when the server
/// is stopping or the database cannot be reached, else a logged 500, never a stack trace to the client);
/// answers unmatched routes and methods in the error envelope; and records the request's metrics and
/// log line.
/// </summary>
public sealed class RequestPipeline(RequestDelegate next, ILogger<RequestPipeline> logger, TimeProvider time, IHostApplicationLifetime lifetime)
{
    public const string RequestIdItem = "kassa.request_id";

    /// <summary>The longest request target (path and query, as sent) the API reads: 414 <c>uri_too_long</c> past it.</summary>
    public const int TargetLengthMax = 8 * 1024;

    /// <summary>The most header bytes (names, values, separators) the API reads: 431 <c>headers_too_large</c> past it.</summary>
    public const int HeaderBytesMax = 32 * 1024;

    /// <summary>The most header fields the API reads: 431 <c>headers_too_large</c> past it.</summary>
    public const int HeaderCountMax = 100;

    /// <summary>
    /// Kestrel's own limits, set above the API's (see <c>KassaApp</c>): Kestrel refuses a request over its
    /// limits before any middleware runs, with an empty body and no Request-Id, so the API's lower limits
    /// are what clients meet, in the envelope. Only a request several times over the API's limit still
    /// gets Kestrel's bare refusal.
    /// </summary>
    public const int ServerRequestLineBytesMax = 8 * TargetLengthMax;

    /// <inheritdoc cref="ServerRequestLineBytesMax"/>
    public const int ServerHeaderBytesMax = 2 * HeaderBytesMax;

    /// <inheritdoc cref="ServerRequestLineBytesMax"/>
    public const int ServerHeaderCountMax = 2 * HeaderCountMax;

    /// <summary>
    /// How long a client is asked to wait on 503 <c>unavailable</c>: a node that is stopping is replaced or
    /// restarted and a database restart takes seconds, so a little longer than an overload's wait.
    /// </summary>
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(2);

    // Bounds the walk down InnerException chains when classifying a failure.
    private const int ExceptionDepthMax = 8;

    /// <summary>
    /// The name of a path or query value that no engine could store or compare (a NUL, a broken
    /// surrogate), refused up front so it never reaches the database as a 500.
    /// </summary>
    private static string? UnstorableInput(HttpRequest request)
    {
        if (request.Path.Value is { } path && !Rules.IsStorable(path)) return "path";
        foreach (var (name, values) in request.Query)
        {
            if (!Rules.IsStorable(name)) return "query";
            foreach (var value in values)
            {
                if (value is not null && !Rules.IsStorable(value)) return name;
            }
        }
        return null;
    }

    /// <summary>
    /// The refusal of a request line or headers over the API's limits, or of a header with a byte outside
    /// printable ASCII (Kestrel decodes header bytes as Latin-1 so that such a request reaches this check
    /// instead of being refused bare). Null when the request may go on.
    /// </summary>
    private static KassaError? UnreadableRequest(HttpContext http)
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        if (target.Length > TargetLengthMax)
            return new KassaError(ErrorCodes.UriTooLong, $"The request URL may be at most {TargetLengthMax} characters; this one has {target.Length}");
        var headers = http.Request.Headers;
        if (headers.Count > HeaderCountMax)
            return new KassaError(ErrorCodes.HeadersTooLarge, $"A request may have at most {HeaderCountMax} headers; this one has {headers.Count}");
        long bytes = 0;
        string? badHeader = null;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                // As on the wire: "name: value\r\n".
                bytes += name.Length + 4 + (value?.Length ?? 0);
                // A malformed Authorization value is a key that does not exist: authentication answers it 401.
                if (badHeader is null && value is not null && !IsPrintableAscii(value)
                    && !name.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase))
                    badHeader = name;
            }
        }
        if (bytes > HeaderBytesMax)
            return new KassaError(ErrorCodes.HeadersTooLarge, $"Request headers may be at most {HeaderBytesMax} bytes together; these have {bytes}");
        if (badHeader is not null)
            return new KassaError(ErrorCodes.InvalidHeader, $"The {badHeader} header must be printable ASCII", badHeader,
                [new FieldError(badHeader, "must be printable ASCII")]);
        return null;
    }

    /// <summary>Visible ASCII, space and tab: what RFC 9110 allows in a field value, less obsolete bytes past 0x7F.</summary>
    private static bool IsPrintableAscii(string value)
    {
        var span = value.AsSpan();
        while (true)
        {
            var i = span.IndexOfAnyExceptInRange(' ', '~');
            if (i < 0) return true;
            if (span[i] != '\t') return false;
            span = span[(i + 1)..];
        }
    }

    public async Task InvokeAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var requestId = Ids.New(IdPrefixes.Request, time.GetUtcNow());
        http.Items[RequestIdItem] = requestId;
        http.Response.Headers["Request-Id"] = requestId;
        try
        {
            if (UnreadableRequest(http) is { } unreadable)
            {
                await ApiResponses.WriteError(http, unreadable);
                return;
            }
            if (UnstorableInput(http.Request) is { } param)
            {
                await ApiResponses.WriteError(http, KassaError.Validation(param, "must be valid Unicode text without NUL characters"));
                return;
            }
            await next(http);
            if (!http.Response.HasStarted && !http.Items.ContainsKey(ApiResponses.WrittenItem))
            {
                if (http.Response.StatusCode == StatusCodes.Status404NotFound)
                    await ApiResponses.WriteError(http, new KassaError(ErrorCodes.RouteNotFound, $"Unrecognized request URL ({http.Request.Method}: {http.Request.Path})"));
                else if (http.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
                    await ApiResponses.WriteError(http, new KassaError(ErrorCodes.MethodNotAllowed, $"{http.Request.Method} is not allowed on {http.Request.Path}"));
                else if (http.Response.StatusCode == StatusCodes.Status413PayloadTooLarge)
                    await ApiResponses.WriteError(http, new KassaError(ErrorCodes.PayloadTooLarge, "Request bodies may be at most 1 MiB"));
            }
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            // Kestrel's own refusals (body over its limit, a truncated body): the client's fault, not ours.
            http.Response.Clear();
            http.Response.Headers["Request-Id"] = requestId;
            await ApiResponses.WriteError(http, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new KassaError(ErrorCodes.PayloadTooLarge, "Request bodies may be at most 1 MiB")
                : new KassaError(ErrorCodes.MalformedJson, "The request could not be read: " + e.Message));
        }
        catch (QuantityOverflowException e) when (!http.Response.HasStarted)
        {
            // The client's numbers, not our fault: the transaction rolled back whole, nothing was stored.
            http.Response.Clear();
            http.Response.Headers["Request-Id"] = requestId;
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.QuantityOverflow, e.Message));
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!http.Response.HasStarted && UnavailableReason(e) is { } reason)
        {
            // Not a bug and not the request's fault: the same request succeeds once the server or its
            // database is back. Use cases already rolled back; a claimed idempotency key was released
            // (a 5xx is never stored), so the retry runs again.
            RequestLog.Unavailable(logger, e, requestId, http.Request.Method, http.Request.Path, reason);
            http.Response.Clear();
            http.Response.Headers["Request-Id"] = requestId;
            await ApiResponses.WriteRetryable(http, new KassaError(ErrorCodes.Unavailable,
                $"The service is unavailable: {reason}; retry after the time in Retry-After"), UnavailableRetryAfter);
        }
        catch (Exception e)
        {
            RequestLog.Failed(logger, e, requestId, http.Request.Method, http.Request.Path);
            if (!http.Response.HasStarted)
            {
                http.Response.Clear();
                http.Response.Headers["Request-Id"] = requestId;
                await ApiResponses.WriteError(http, new KassaError(ErrorCodes.InternalError,
                    $"An internal error occurred; it has been logged with request id {requestId}"));
            }
        }
        finally
        {
            var elapsed = Stopwatch.GetTimestamp() - started;
            var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            Kassa.Engine.Telemetry.KassaMeters.RecordRequest(http.Request.Method, route, http.Response.StatusCode, elapsed);
            if (logger.IsEnabled(LogLevel.Information))
            {
                RequestLog.Completed(logger, requestId, http.Request.Method, route, http.Response.StatusCode,
                    Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3), http.Items[RequestLog.KeyIdItem] as string ?? "-");
            }
        }
    }

    /// <summary>
    /// Why <paramref name="e"/> (or an exception it wraps) means "unavailable, retry": an
    /// <see cref="UnavailableException"/>, a database that cannot be reached (<see cref="StoreFailures"/>),
    /// or work cancelled because the server is stopping. Null for anything else, which is a bug. The
    /// client-facing reason never carries a database message, which may name hosts.
    /// </summary>
    private string? UnavailableReason(Exception e)
    {
        Exception? x = e;
        for (var depth = 0; x is not null && depth < ExceptionDepthMax; depth++)
        {
            switch (x)
            {
                case UnavailableException u:
                    return u.Message;
                case DbException db when StoreFailures.IsUnavailable(db):
                    return "the database cannot be reached";
                case OperationCanceledException when lifetime.ApplicationStopping.IsCancellationRequested:
                    return "the server is stopping";
            }
            x = x is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : x.InnerException;
        }
        return null;
    }
}
