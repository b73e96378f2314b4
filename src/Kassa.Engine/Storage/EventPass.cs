using System.Buffers;
using Kassa.Engine.Common;

namespace Kassa.Engine.Storage;

/// <summary>
/// The events of one pass of the meter pipeline (a roll's chunk, an indexer's read) held as rows of numbers: each
/// row a struct without references in a pooled array, its tenant, event name and customer numbered in tables of
/// one string each, and its one text of its own (the indexer's event id, the roller's properties) in a pooled
/// character buffer.
/// <para>
/// Why: a pass of ~32,000–100,000 events lives through its fold or its write (~0.5 s), so most collections under
/// ingest found one alive and copied it. As objects that was ~550 bytes an event in seven objects (the event, its
/// tenant wrapper, five strings) — 10–50 MB promoted a gen0, 35–70 ms paused each, ~10 % of the time ingest ran
/// (bench/README, twenty-sixth session). Rows in pooled arrays are neither copied nor traced, and the strings
/// left are the few thousand distinct customers, names and tenants. Rented again by the next pass: nothing
/// a pass allocates outlives it but those strings.
/// </para>
/// Not thread-safe; one pass at a time. <see cref="Dispose"/> returns the arrays: rows read after it are garbage.
/// </summary>
public sealed class EventPass : IDisposable
{
    /// <summary>
    /// One event. <see cref="Position"/> orders the pass (seq on SQLite, the writing transaction's id on PostgreSQL);
    /// <see cref="Tenant"/>, <see cref="EventName"/> and <see cref="Customer"/> number the pass's tables.
    /// </summary>
    public readonly record struct Row(long Position, int Tenant, int EventName, int Customer, long TsMicros, long ReceivedMicros, int TextStart, int TextLength);

    private const int FirstRows = 1024;
    private const int FirstText = 64 * 1024;

    private readonly Dictionary<(string AccountId, bool Livemode), int> _tenantIds = new();
    private readonly List<Tenant> _tenants = [];
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
    private readonly List<string> _strings = [];
    private Row[] _rows = ArrayPool<Row>.Shared.Rent(FirstRows);
    private char[] _text = ArrayPool<char>.Shared.Rent(FirstText);
    private int _textLength;
    private bool _disposed;

    public int Count { get; private set; }

    public ref readonly Row this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return ref _rows[index];
        }
    }

    /// <summary>
    /// The pass's tenants in the order their first events came (a row's <see cref="Row.Tenant"/> is a place here). After
    /// <see cref="Truncate"/> it may name tenants whose rows were all cut: a reader goes by the rows.
    /// </summary>
    public IReadOnlyList<Tenant> Tenants => _tenants;

    /// <summary>The event name or customer id a row numbers.</summary>
    public string Text(int id) => _strings[id];

    /// <summary>A row's own text (the event id or the properties, as the reader stored it).</summary>
    public ReadOnlySpan<char> OwnText(in Row row) => _text.AsSpan(row.TextStart, row.TextLength);

    /// <summary>A row's own text as memory (for parsers that take it), valid until the pass is disposed.</summary>
    public ReadOnlyMemory<char> OwnTextMemory(in Row row) => _text.AsMemory(row.TextStart, row.TextLength);

    /// <summary>Appends an event; its strings are copied into the tables (one copy per distinct value) and the buffer.</summary>
    public void Add(long position, string accountId, bool livemode, string eventName, string customerId, long tsMicros, long receivedMicros,
        ReadOnlySpan<char> ownText)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_tenantIds.TryGetValue((accountId, livemode), out var tenant))
        {
            tenant = _tenants.Count;
            var account = Share(accountId);
            _tenantIds[(_strings[account], livemode)] = tenant;
            _tenants.Add(new Tenant(_strings[account], livemode));
        }
        if (Count == _rows.Length) _rows = Grow(_rows, Count);
        if (_textLength + ownText.Length > _text.Length) _text = Grow(_text, _textLength, _textLength + ownText.Length);
        ownText.CopyTo(_text.AsSpan(_textLength));
        _rows[Count++] = new Row(position, tenant, Share(eventName), Share(customerId), tsMicros, receivedMicros, _textLength, ownText.Length);
        _textLength += ownText.Length;
    }

    /// <summary>Keeps the first <paramref name="count"/> rows; the tables keep what the cut rows added (see <see cref="Tenants"/>).</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)count, (uint)Count, nameof(count));
        Count = count;
        _textLength = count == 0 ? 0 : _rows[count - 1].TextStart + _rows[count - 1].TextLength;
    }

    /// <summary>Each text of the tables numbered by its place in ordinal order: two ranks compare as their strings do.</summary>
    public int[] TextRanks()
    {
        var ids = Enumerable.Range(0, _strings.Count).ToArray();
        Array.Sort(ids, (a, b) => string.CompareOrdinal(_strings[a], _strings[b]));
        var ranks = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) ranks[ids[i]] = i;
        return ranks;
    }

    /// <summary>Each tenant numbered by its place in (account id, livemode) order, the account ids compared ordinally.</summary>
    public int[] TenantRanks()
    {
        var ids = Enumerable.Range(0, _tenants.Count).ToArray();
        Array.Sort(ids, (a, b) => string.CompareOrdinal(_tenants[a].AccountId, _tenants[b].AccountId) is var c and not 0
            ? c
            : _tenants[a].Livemode.CompareTo(_tenants[b].Livemode));
        var ranks = new int[ids.Length];
        for (var i = 0; i < ids.Length; i++) ranks[ids[i]] = i;
        return ranks;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        ArrayPool<Row>.Shared.Return(_rows);
        ArrayPool<char>.Shared.Return(_text);
        _rows = [];
        _text = [];
        Count = 0;
    }

    private int Share(string value)
    {
        if (_stringIds.TryGetValue(value, out var id)) return id;
        id = _strings.Count;
        _strings.Add(value);
        _stringIds[value] = id;
        return id;
    }

    private static T[] Grow<T>(T[] array, int used, int needed = 0)
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(array.Length * 2, needed));
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        return bigger;
    }
}
