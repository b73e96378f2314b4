using System.Security.Cryptography;
using Kassa.Core.Ids;
using Kassa.Core.Keys;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ApiKeys;

/// <summary>Makes a new raw key and the record that stores only its hash.</summary>
internal static class KeyMaker
{
    public static (string Raw, ApiKeyRecord Record) Make(string accountId, bool livemode, KeyKind kind, string name, DateTimeOffset now, string? raw = null)
    {
        // 64 random bytes leave ample room for the rejection sampling of 32 base62 characters.
        raw ??= ApiKeyFormat.Format(kind, livemode, RandomNumberGenerator.GetBytes(64));
        var record = new ApiKeyRecord(
            accountId, livemode, Common.Ids.New(IdPrefixes.ApiKey, now), TypeName(kind), name, ApiKeyFormat.Hash(raw),
            ApiKeyFormat.Mask(raw), now, null);
        return (raw, record);
    }

    public static string TypeName(KeyKind kind) => kind switch
    {
        KeyKind.Secret => "secret",
        KeyKind.Publishable => "publishable",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), "customer session tokens are not API keys"),
    };
}
