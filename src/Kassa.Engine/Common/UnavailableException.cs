namespace Kassa.Engine.Common;

/// <summary>
/// The work could not be done now, through no fault of the request: the server is stopping or the
/// database cannot be reached. Answered 503 unavailable with Retry-After; the client retries.
/// </summary>
public sealed class UnavailableException(string message, Exception? inner = null) : Exception(message, inner);
