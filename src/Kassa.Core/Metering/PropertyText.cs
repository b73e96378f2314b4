using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// The text of a scalar property, shared by group keys and unique counts so both see the same
/// value the same way: strings as they are, numbers in <see cref="DecimalText.Canonical"/> form
/// (1.0 and 1 are one value), booleans as <c>true</c>/<c>false</c>.
/// </summary>
internal static class PropertyText
{
    /// <summary>The text of <paramref name="value"/>, or null for null, objects, arrays and unreadable strings.</summary>
    public static string? Render(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => TryGetString(value, out var s) ? s : null,
        JsonValueKind.Number => CanonicalNumber(value),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    /// <summary>The canonical text of a JSON number element.</summary>
    public static string CanonicalNumber(JsonElement number) =>
        // The JSON parser has already checked the number grammar, so this parse cannot fail; the raw
        // text is a harmless fallback all the same.
        DecimalText.TryParse(number.GetRawText(), allowExponent: true, out var d) ? d.Canonical() : number.GetRawText();

    /// <summary>
    /// Reads a JSON string. System.Text.Json accepts an escaped lone surrogate (<c>"\ud800"</c>) when
    /// parsing but throws when the string is read; this turns that into false.
    /// </summary>
    public static bool TryGetString(JsonElement value, [NotNullWhen(true)] out string? text)
    {
        try
        {
            text = value.GetString();
            return text is not null;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    /// <summary>Like <see cref="TryGetString"/>, for a member name.</summary>
    public static bool TryGetName(JsonProperty property, [NotNullWhen(true)] out string? name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = null;
            return false;
        }
    }

    /// <summary>Cuts user-supplied text that is quoted back in a message, so messages stay short.</summary>
    public static string Shorten(string text) => text.Length <= 48 ? text : text[..48] + "…";
}
