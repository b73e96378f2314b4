using Kassa.Core.Errors;

namespace Kassa.Core.Validation;

/// <summary>
/// Input rules of spec §1 as pure functions. Each returns null when the value is fine, or the
/// complaint to put into a <see cref="FieldError"/>.
/// </summary>
public static class Rules
{
    public const int CustomerIdLengthMax = 128;
    public const int SlugLengthMax = 64;
    public const int MetadataKeysMax = 50;
    public const int MetadataKeyLengthMax = 40;
    public const int MetadataValueLengthMax = 500;
    public const int IdempotencyKeyLengthMax = 255;
    public const int NameLengthMax = 256;
    public const int EmailLengthMax = 254;
    public const int AddressFieldLengthMax = 200;
    public const int PageSizeMax = 100;
    public const int PageSizeDefault = 20;

    /// <summary>Customer ids are yours: 1–128 characters of <c>[A-Za-z0-9_.:@-]</c>.</summary>
    public static string? CustomerId(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "must not be empty";
        if (id.Length > CustomerIdLengthMax) return $"must be at most {CustomerIdLengthMax} characters";
        foreach (var c in id)
        {
            var ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '.' or ':' or '@' or '-';
            if (!ok) return "may contain only letters, digits and _ . : @ -";
        }
        return null;
    }

    /// <summary>Feature, product and meter ids: <c>[a-z0-9_-]{1,64}</c>.</summary>
    public static string? Slug(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "must not be empty";
        if (id.Length > SlugLengthMax) return $"must be at most {SlugLengthMax} characters";
        foreach (var c in id)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-')) return "may contain only a-z, 0-9, _ and -";
        }
        return null;
    }

    /// <summary>
    /// Whether a string can be stored by every engine: PostgreSQL refuses NUL characters and text
    /// that is not valid UTF-8, which an unpaired UTF-16 surrogate would become.
    /// </summary>
    public static bool IsStorable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0') return false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1])) return false;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }

    public static string? Text(string? value, int lengthMax, bool allowEmpty = true)
    {
        if (value is null) return null;
        if (!allowEmpty && value.Length == 0) return "must not be empty";
        if (value.Length > lengthMax) return $"must be at most {lengthMax} characters";
        if (!IsStorable(value)) return "must be valid Unicode text without NUL characters";
        foreach (var c in value)
        {
            // Control characters in names and e-mails only ever come from broken clients or
            // injection attempts; they would also corrupt CSV exports and log lines.
            if (char.IsControl(c)) return "must not contain control characters";
        }
        return null;
    }

    /// <summary>
    /// A deliberately loose e-mail check (one @, something on each side, no spaces): the address is
    /// the customer's to give, and real-world addresses break strict grammars.
    /// </summary>
    public static string? Email(string? email)
    {
        if (email is null) return null;
        var text = Text(email, EmailLengthMax, allowEmpty: false);
        if (text is not null) return text;
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1 || email.Contains(' '))
            return "must be an e-mail address";
        return null;
    }

    public static void Metadata(IReadOnlyDictionary<string, string>? metadata, List<FieldError> errors, string field = "metadata")
    {
        if (metadata is null) return;
        if (metadata.Count > MetadataKeysMax)
        {
            errors.Add(new FieldError(field, $"may have at most {MetadataKeysMax} keys"));
            return;
        }
        foreach (var (key, value) in metadata)
        {
            if (key.Length == 0 || key.Length > MetadataKeyLengthMax)
                errors.Add(new FieldError($"{field}.{Truncate(key)}", $"keys must be 1 to {MetadataKeyLengthMax} characters"));
            else if (value is null)
                errors.Add(new FieldError($"{field}.{key}", "values must be strings"));
            else if (value.Length > MetadataValueLengthMax)
                errors.Add(new FieldError($"{field}.{key}", $"values must be at most {MetadataValueLengthMax} characters"));
            else if (!IsStorable(key) || !IsStorable(value))
                errors.Add(new FieldError(field, "keys and values must be valid Unicode text without NUL characters"));
        }
    }

    public static string? IdempotencyKey(string? key)
    {
        if (key is null) return null;
        if (key.Length is 0 or > IdempotencyKeyLengthMax) return $"must be 1 to {IdempotencyKeyLengthMax} characters";
        foreach (var c in key)
        {
            if (c < 0x20 || c > 0x7e) return "must be printable ASCII";
        }
        return null;
    }

    private static string Truncate(string s) => s.Length <= 48 ? s : s[..48];
}
