namespace Kassa.Core.Errors;

/// <summary>One field-level complaint inside <see cref="KassaError.Details"/>.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>
/// A business failure as a value. <see cref="Code"/> is a stable snake_case string from
/// <see cref="ErrorCodes"/>; the HTTP status and error type are derived from it in one place
/// (the server's error mapping), never chosen at the call site.
/// </summary>
public sealed record KassaError(string Code, string Message, string? Param = null, IReadOnlyList<FieldError>? Details = null)
{
    public static KassaError Validation(string param, string message) =>
        new(ErrorCodes.ValidationFailed, $"{param} {message}", param, [new FieldError(param, message)]);

    public static KassaError Validation(IReadOnlyList<FieldError> details) =>
        new(ErrorCodes.ValidationFailed,
            details.Count == 1 ? $"{details[0].Field} {details[0].Message}" : $"{details.Count} fields are invalid: {string.Join(", ", details.Select(d => d.Field))}",
            details[0].Field, details);

    public static KassaError Missing(string param) =>
        new(ErrorCodes.ParameterMissing, $"{param} is required", param, [new FieldError(param, "is required")]);

    public static KassaError NotFound(string objectType, string id) =>
        new(ErrorCodes.ResourceMissing, $"No such {objectType}: '{id}'", "id");

    public static KassaError InvalidState(string message) => new(ErrorCodes.InvalidState, message);
}
