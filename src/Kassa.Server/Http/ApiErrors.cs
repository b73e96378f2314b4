using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Engine.Json;

namespace Kassa.Server.Http;

/// <summary>The error body of spec §1.2.</summary>
public sealed record ErrorBody(string Type, string Code, string Message, string? Param, IReadOnlyList<FieldError>? Details, string RequestId);

public sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>
/// The one place where an error code becomes an HTTP status and an error type. Use cases only
/// ever choose a code; a code missing here is a bug and answers 500 (a unit test checks that every
/// code in <see cref="ErrorCodes"/> is here). The two "come back later" codes, <c>rate_limited</c> /
/// <c>overloaded</c> (429) and <c>unavailable</c> (503), are always sent with <c>Retry-After</c>
/// (<see cref="ApiResponses.WriteRetryable"/>).
/// </summary>
public static class ApiErrors
{
    private static readonly Dictionary<string, (int Status, string Type)> Map = new()
    {
        [ErrorCodes.ValidationFailed] = (400, "invalid_request_error"),
        [ErrorCodes.MalformedJson] = (400, "invalid_request_error"),
        [ErrorCodes.UnknownField] = (400, "invalid_request_error"),
        [ErrorCodes.ParameterMissing] = (400, "invalid_request_error"),
        [ErrorCodes.QuantityOverflow] = (400, "invalid_request_error"),
        [ErrorCodes.InvalidHeader] = (400, "invalid_request_error"),
        [ErrorCodes.TestModeOnly] = (400, "invalid_request_error"),
        [ErrorCodes.Unsupported] = (400, "invalid_request_error"),
        [ErrorCodes.LivemodeMismatch] = (400, "invalid_request_error"),
        [ErrorCodes.SecretsUnavailable] = (400, "invalid_request_error"),
        [ErrorCodes.SignatureInvalid] = (400, "invalid_request_error"),
        [ErrorCodes.MissingApiKey] = (401, "authentication_error"),
        [ErrorCodes.CardDeclined] = (402, "payment_error"),
        [ErrorCodes.InsufficientFunds] = (402, "payment_error"),
        [ErrorCodes.RequiresAction] = (402, "payment_error"),
        [ErrorCodes.InvalidApiKey] = (401, "authentication_error"),
        [ErrorCodes.ExpiredToken] = (401, "authentication_error"),
        [ErrorCodes.KeyNotAllowed] = (403, "permission_error"),
        [ErrorCodes.FormRejected] = (403, "permission_error"),
        [ErrorCodes.ResourceMissing] = (404, "not_found"),
        [ErrorCodes.RouteNotFound] = (404, "not_found"),
        [ErrorCodes.MethodNotAllowed] = (405, "invalid_request_error"),
        [ErrorCodes.AlreadyExists] = (409, "conflict"),
        [ErrorCodes.IdempotencyKeyInUse] = (409, "conflict"),
        [ErrorCodes.InvalidState] = (409, "conflict"),
        [ErrorCodes.LimitReached] = (409, "conflict"),
        [ErrorCodes.RefundExceedsPayment] = (409, "conflict"),
        [ErrorCodes.PayloadTooLarge] = (413, "invalid_request_error"),
        [ErrorCodes.UriTooLong] = (414, "invalid_request_error"),
        [ErrorCodes.IdempotencyKeyReused] = (422, "idempotency_error"),
        [ErrorCodes.RateLimited] = (429, "rate_limit_error"),
        [ErrorCodes.Overloaded] = (429, "rate_limit_error"),
        [ErrorCodes.HeadersTooLarge] = (431, "invalid_request_error"),
        [ErrorCodes.InternalError] = (500, "api_error"),
        [ErrorCodes.Unavailable] = (503, "api_error"),
        [ErrorCodes.ProviderUnavailable] = (503, "api_error"),
    };

    public static IReadOnlyCollection<string> Codes => Map.Keys;

    public static (int Status, string Type) Classify(string code) => Map.TryGetValue(code, out var v) ? v : (500, "api_error");

    public static (int Status, byte[] Body) Render(KassaError error, string requestId)
    {
        var (status, type) = Classify(error.Code);
        var body = new ErrorEnvelope(new ErrorBody(type, error.Code, error.Message, error.Param, error.Details, requestId));
        return (status, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(body, KassaJson.Options));
    }
}
