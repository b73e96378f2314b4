using System.Reflection;
using Kassa.Core.Errors;
using Kassa.Server.Http;

namespace Kassa.Server.Tests.Http;

/// <summary>
/// Every error code has an explicit status and type (none falls through to the default 500), and every
/// status answers with the error type spec §1.2 gives it.
/// </summary>
public sealed class ErrorMappingTests
{
    /// <summary>Spec §1.2's status → type table, plus the statuses the spec leaves to us (405, 414, 431, 503).</summary>
    private static readonly Dictionary<int, string> TypeOfStatus = new()
    {
        [400] = "invalid_request_error",
        [401] = "authentication_error",
        [402] = "payment_error",
        [403] = "permission_error",
        [404] = "not_found",
        [405] = "invalid_request_error",
        [409] = "conflict",
        [413] = "invalid_request_error",
        [414] = "invalid_request_error",
        [422] = "idempotency_error",
        [429] = "rate_limit_error",
        [431] = "invalid_request_error",
        [500] = "api_error",
        [503] = "api_error",
    };

    /// <summary>Each code's status, written out: a change here is a change of the public contract.</summary>
    private static readonly Dictionary<string, int> StatusOfCode = new()
    {
        ["validation_failed"] = 400,
        ["malformed_json"] = 400,
        ["unknown_field"] = 400,
        ["parameter_missing"] = 400,
        ["quantity_overflow"] = 400,
        ["invalid_header"] = 400,
        ["test_mode_only"] = 400,
        ["unsupported"] = 400,
        ["livemode_mismatch"] = 400,
        ["secrets_unavailable"] = 400,
        ["signature_invalid"] = 400,
        ["missing_api_key"] = 401,
        ["invalid_api_key"] = 401,
        ["expired_token"] = 401,
        ["card_declined"] = 402,
        ["insufficient_funds"] = 402,
        ["requires_action"] = 402,
        ["key_not_allowed"] = 403,
        ["form_rejected"] = 403,
        ["resource_missing"] = 404,
        ["route_not_found"] = 404,
        ["method_not_allowed"] = 405,
        ["already_exists"] = 409,
        ["idempotency_key_in_use"] = 409,
        ["invalid_state"] = 409,
        ["limit_reached"] = 409,
        ["refund_exceeds_payment"] = 409,
        ["payload_too_large"] = 413,
        ["uri_too_long"] = 414,
        ["idempotency_key_reused"] = 422,
        ["rate_limited"] = 429,
        ["overloaded"] = 429,
        ["headers_too_large"] = 431,
        ["internal_error"] = 500,
        ["unavailable"] = 503,
        ["provider_unavailable"] = 503,
    };

    private static List<string> DeclaredCodes() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

    [Fact]
    public void Every_error_code_maps_to_its_status_and_the_spec_type_of_that_status()
    {
        var codes = DeclaredCodes();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Equal(StatusOfCode.Keys.Order(), codes.Order());
        Assert.Equal(codes.Order(), ApiErrors.Codes.Order());
        foreach (var code in codes)
        {
            Assert.Matches("^[a-z]+(_[a-z]+)*$", code);
            var (status, type) = ApiErrors.Classify(code);
            Assert.True(StatusOfCode[code] == status, $"{code}: expected {StatusOfCode[code]}, mapped to {status}");
            Assert.True(TypeOfStatus[status] == type, $"{code}: status {status} must have type {TypeOfStatus[status]}, mapped to {type}");
        }
    }

    [Fact]
    public void Only_internal_error_answers_500_and_an_unknown_code_is_a_bug_that_does()
    {
        Assert.Equal(["internal_error"], DeclaredCodes().Where(c => ApiErrors.Classify(c).Status == 500));
        Assert.Equal((500, "api_error"), ApiErrors.Classify("no_such_code"));
    }

    [Fact]
    public void Render_writes_the_envelope_with_the_mapped_status()
    {
        var (status, body) = ApiErrors.Render(new KassaError(ErrorCodes.Unavailable, "The service is unavailable"), "req_1");
        Assert.Equal(503, status);
        Assert.Equal("{\"error\":{\"type\":\"api_error\",\"code\":\"unavailable\",\"message\":\"The service is unavailable\",\"param\":null,\"details\":null,\"request_id\":\"req_1\"}}",
            System.Text.Encoding.UTF8.GetString(body));
    }
}
