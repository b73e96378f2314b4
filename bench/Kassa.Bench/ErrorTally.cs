namespace Kassa.Bench;

/// <summary>
/// Counts failed requests by kind: an unexpected HTTP status, the type of exception thrown, or a named
/// kind such as a refusal found in the body (<see cref="BodyRule"/>). Owned by
/// one worker (no locks); merged after the phase. A status is an array increment, so a server answering
/// only 429s does not make the generator allocate.
/// </summary>
internal sealed class ErrorTally
{
    // HTTP status codes are three digits; anything else a server sends is clamped into slot 0.
    private const int StatusSlots = 1000;

    // A broken server can cause many distinct exception kinds; past this many the rest count as "other",
    // which keeps the breakdown readable and the dictionary bounded.
    private const int MaxExceptionKinds = 32;
    private const string OtherKind = "other";

    private readonly long[] statuses = new long[StatusSlots];
    private readonly Dictionary<string, long> exceptions = new(StringComparer.Ordinal);

    // An example longer than this is cut: it is there to say what went wrong, not to hold a whole body.
    public const int ExampleLengthMax = 300;

    public long Total { get; private set; }

    /// <summary>
    /// The first failure seen, spelled out on one line ("400 {"error":…}" or an exception's message), so
    /// a report can say what the server answered, not only how often. Null until a caller records one.
    /// </summary>
    public string? Example { get; private set; }

    public void CountStatus(int status)
    {
        statuses[(uint)status < StatusSlots ? status : 0]++;
        Total++;
    }

    public void CountException(Exception exception)
    {
        var kind = Describe(exception);
        Merge(kind, 1);
        Total++;
        Example ??= Shorten($"{kind}: {exception.Message}");
    }

    /// <summary>Keeps <paramref name="status"/> and the start of <paramref name="body"/> as the example, unless there is one.</summary>
    public void NoteExample(int status, ReadOnlySpan<byte> body)
    {
        if (Example is not null)
        {
            return;
        }

        // Cut before decoding: a multi-byte character split at the cut decodes to U+FFFD, which is fine here.
        var head = System.Text.Encoding.UTF8.GetString(body[..Math.Min(body.Length, ExampleLengthMax + 1)]);
        Example = Shorten(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{status} {head}"));
    }

    /// <summary>
    /// A failure that is neither a status nor an exception, e.g. an expected status whose body says the
    /// operation was refused. Counted with the exception kinds (same bound, listed by name).
    /// </summary>
    public void CountKind(string kind)
    {
        Merge(kind, 1);
        Total++;
    }

    public void Add(ErrorTally other)
    {
        for (var i = 0; i < StatusSlots; i++)
        {
            statuses[i] += other.statuses[i];
        }

        foreach (var (kind, count) in other.exceptions)
        {
            Merge(kind, count);
        }

        Total += other.Total;
        Example ??= other.Example;
    }

    /// <summary>Kinds with their counts, most frequent first: "429" for a status, a type name for an exception, else the kind's name.</summary>
    public IReadOnlyList<ErrorCount> Breakdown()
    {
        var list = new List<ErrorCount>();
        for (var i = 0; i < StatusSlots; i++)
        {
            if (statuses[i] > 0)
            {
                list.Add(new ErrorCount(i.ToString(System.Globalization.CultureInfo.InvariantCulture), IsStatus: true, statuses[i]));
            }
        }

        foreach (var (kind, count) in exceptions)
        {
            list.Add(new ErrorCount(kind, IsStatus: false, count));
        }

        list.Sort((a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Kind, b.Kind));
        return list;
    }

    /// <summary>
    /// A short, stable name for a failure. Timeouts and the transport error class are spelled out because
    /// "TaskCanceledException" or a bare "HttpRequestException" would not say what went wrong.
    /// </summary>
    public static string Describe(Exception exception) => exception switch
    {
        TaskCanceledException { InnerException: TimeoutException } => "Timeout",
        HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http =>
            $"HttpRequestException({http.HttpRequestError})",
        _ => exception.GetType().Name,
    };

    private static string Shorten(string text)
    {
        text = text.ReplaceLineEndings(" ");
        return text.Length > ExampleLengthMax ? text[..ExampleLengthMax] + "…" : text;
    }

    private void Merge(string kind, long count)
    {
        if (!exceptions.ContainsKey(kind) && exceptions.Count >= MaxExceptionKinds)
        {
            kind = OtherKind;
        }

        exceptions[kind] = exceptions.GetValueOrDefault(kind) + count;
    }
}

/// <summary>One line of an error breakdown.</summary>
internal sealed record ErrorCount(string Kind, bool IsStatus, long Count);
