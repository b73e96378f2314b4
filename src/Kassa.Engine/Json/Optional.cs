using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kassa.Engine.Json;

/// <summary>
/// A request field that may be absent, present as null (clear it) or present with a value.
/// PATCH needs the difference: <c>{"name": null}</c> clears the name, <c>{}</c> leaves it alone.
/// The serializer never calls a converter for a missing property, so the default is "absent".
/// </summary>
public readonly struct Optional<T>
{
    public Optional(T? value)
    {
        IsSet = true;
        Value = value;
    }

    public bool IsSet { get; }
    public T? Value { get; }

    public T? Or(T? fallback) => IsSet ? Value : fallback;
}

public sealed class OptionalConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Optional<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(OptionalConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class OptionalConverter<T> : JsonConverter<Optional<T>>
    {
        public override bool HandleNull => true;

        public override Optional<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? new Optional<T>(default) : new Optional<T>(JsonSerializer.Deserialize<T>(ref reader, options));

        public override void Write(Utf8JsonWriter writer, Optional<T> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Value, options);
    }
}
