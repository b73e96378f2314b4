namespace Kassa.Core.Errors;

/// <summary>
/// Every error code the API can answer with (spec §1.2). The strings are part of the public
/// contract: clients switch on them, so they never change once shipped.
/// </summary>
public static class ErrorCodes
{
    // 400 invalid_request_error
    public const string ValidationFailed = "validation_failed";
    public const string MalformedJson = "malformed_json";
    public const string UnknownField = "unknown_field";
    public const string ParameterMissing = "parameter_missing";
    /// <summary>A total (a rollup's sum) would pass the 64-bit micro-unit range; nothing was stored.</summary>
    public const string QuantityOverflow = "quantity_overflow";
    /// <summary>A request header holds a byte outside printable ASCII; <c>param</c> names the header.</summary>
    public const string InvalidHeader = "invalid_header";
    /// <summary>The provider does not do this (Stripe never receives raw card numbers from Kassa).</summary>
    public const string Unsupported = "unsupported";
    /// <summary>A provider key of the other mode: a <c>sk_live_</c> key with a test-mode Kassa key, or <c>sk_test_</c> with a live one.</summary>
    public const string LivemodeMismatch = "livemode_mismatch";
    /// <summary>The server has no key to encrypt provider secrets with (PostgreSQL without <c>KASSA_SECRETS_KEY</c>).</summary>
    public const string SecretsUnavailable = "secrets_unavailable";
    /// <summary>A provider webhook delivery whose signature does not verify (wrong secret, stale timestamp, altered body).</summary>
    // 401 authentication_error
    public const string MissingApiKey = "missing_api_key";
    public const string InvalidApiKey = "invalid_api_key";
    public const string ExpiredToken = "expired_token";
    /// <summary>A live-mode key asked for something only the test-mode sandbox provider does (saving a raw card number).</summary>
    public const string TestModeOnly = "test_mode_only";
    /// <summary>A provider webhook delivery did not verify: no or a wrong signature, or a timestamp outside the tolerance.</summary>
    public const string SignatureInvalid = "signature_invalid";
    // 402 payment_error
    public const string CardDeclined = "card_declined";
    public const string InsufficientFunds = "insufficient_funds";
    /// <summary>The charge needs the customer (3-D Secure) before it can complete.</summary>
    public const string RequiresAction = "requires_action";
    // 403 permission_error
    public const string KeyNotAllowed = "key_not_allowed";
    /// <summary>A hosted checkout form post without the page's nonce, or from another site (CSRF).</summary>
    public const string FormRejected = "form_rejected";
    // 404 not_found
    public const string ResourceMissing = "resource_missing";
    public const string RouteNotFound = "route_not_found";
    // 405 invalid_request_error
    public const string MethodNotAllowed = "method_not_allowed";
    // 409 conflict
    public const string AlreadyExists = "already_exists";
    public const string IdempotencyKeyInUse = "idempotency_key_in_use";
    public const string InvalidState = "invalid_state";
    public const string LimitReached = "limit_reached";
    /// <summary>A refund asked for more than what is left of the payment after its earlier and pending refunds.</summary>
    public const string RefundExceedsPayment = "refund_exceeds_payment";
    // 413 invalid_request_error
    public const string PayloadTooLarge = "payload_too_large";
    // 414 invalid_request_error
    /// <summary>The request target (path and query) is longer than the server reads.</summary>
    public const string UriTooLong = "uri_too_long";
    // 422 idempotency_error
    public const string IdempotencyKeyReused = "idempotency_key_reused";
    // 429 rate_limit_error
    /// <summary>This API key sent more requests than its per-node rate allows.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>A server queue (the balance engine, meter ingestion) is full; not the key's fault, but retry later.</summary>
    public const string Overloaded = "overloaded";
    // 431 invalid_request_error
    /// <summary>The request's headers together are larger than the server reads.</summary>
    public const string HeadersTooLarge = "headers_too_large";
    // 500 api_error
    public const string InternalError = "internal_error";
    // 503 api_error
    /// <summary>The server is stopping or cannot reach its database; always sent with <c>Retry-After</c>.</summary>
    public const string Unavailable = "unavailable";
    /// <summary>The payment provider did not answer (timeout, rate limit, outage); the attempt stays processing and is completed later.</summary>
    public const string ProviderUnavailable = "provider_unavailable";
}
