namespace Kassa.Core.Errors;

/// <summary>Either a value or a <see cref="KassaError"/>; use cases return this instead of throwing.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    private Result(T? value, KassaError? error)
    {
        _value = value;
        Error = error;
    }

    public KassaError? Error { get; }
    public bool IsOk => Error is null;
    public T Value => Error is null ? _value! : throw new InvalidOperationException($"result is an error: {Error.Code}");

    public static Result<T> Ok(T value) => new(value, null);
    public static Result<T> Fail(KassaError error) => new(default, error);

    public static implicit operator Result<T>(T value) => Ok(value);
    public static implicit operator Result<T>(KassaError error) => Fail(error);
}
