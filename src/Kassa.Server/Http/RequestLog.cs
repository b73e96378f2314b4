namespace Kassa.Server.Http;

/// <summary>One structured log line per request: request id, key id (never the key), route, status, duration.</summary>
public static partial class RequestLog
{
    public const string KeyIdItem = "kassa.key_id";

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "request {RequestId} {Method} {Route} -> {Status} in {DurationMs} ms key={KeyId}")]
    public static partial void Completed(ILogger logger, string requestId, string method, string route, int status, double durationMs, string keyId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "request {RequestId} {Method} {Path} failed with an unexpected exception")]
    public static partial void Failed(ILogger logger, Exception exception, string requestId, string method, string path);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "request {RequestId} {Method} {Path} answered 503: {Reason}")]
    public static partial void Unavailable(ILogger logger, Exception exception, string requestId, string method, string path, string reason);
}
