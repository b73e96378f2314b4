using System.Diagnostics;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Server.Http;

/// <summary>
/// The outermost middleware: gives every request its <c>Request-Id</c>, turns exceptions into a
/// logged 500 envelope (never a stack trace to the client), answers unmatched routes and methods in
/// the error envelope, and records the request's metrics and log line.
/// </summary>
public sealed class RequestPipeline(RequestDelegate next, Metrics metrics, ILogger<RequestPipeline> logger, TimeProvider time)
{
    public const string RequestIdItem = "kassa.request_id";

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

    public async Task InvokeAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var requestId = Ids.New(IdPrefixes.Request, time.GetUtcNow());
        http.Items[RequestIdItem] = requestId;
        http.Response.Headers["Request-Id"] = requestId;
        try
        {
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
            metrics.Record(http.Request.Method, route, http.Response.StatusCode, elapsed);
            if (logger.IsEnabled(LogLevel.Information))
            {
                RequestLog.Completed(logger, requestId, http.Request.Method, route, http.Response.StatusCode,
                    Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3), http.Items[RequestLog.KeyIdItem] as string ?? "-");
            }
        }
    }
}
