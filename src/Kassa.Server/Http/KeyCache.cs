using System.Collections.Concurrent;
using Kassa.Engine.Storage;

namespace Kassa.Server.Http;

/// <summary>
/// Keeps recently used keys (by hash) for <see cref="Ttl"/> so the hot path does not read the key
/// table on every request. A revocation on this node removes the entry at once; on other nodes it
/// takes effect within <see cref="Ttl"/>. Unknown keys are not cached, so a flood of random keys
/// cannot grow the cache; its size is bounded by <see cref="EntriesMax"/>.
/// </summary>
public sealed class KeyCache(TimeProvider time)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    public const int EntriesMax = 10_000;
    private readonly ConcurrentDictionary<string, (ApiKeyRecord Key, long ExpiresAt)> _entries = new(StringComparer.Ordinal);

    public ApiKeyRecord? Get(string hash)
    {
        if (_entries.TryGetValue(hash, out var e) && e.ExpiresAt > time.GetTimestamp()) return e.Key;
        return null;
    }

    public void Put(string hash, ApiKeyRecord key)
    {
        if (_entries.Count >= EntriesMax) _entries.Clear();
        _entries[hash] = (key, time.GetTimestamp() + (long)(Ttl.TotalSeconds * time.TimestampFrequency));
    }

    public void Forget(string keyId)
    {
        foreach (var (hash, entry) in _entries)
        {
            if (entry.Key.Id == keyId) _entries.TryRemove(hash, out _);
        }
    }
}
