using System.Security.Cryptography;
using Kassa.Core.Ids;

namespace Kassa.Engine.Common;

/// <summary>An account and a mode: the first two columns of every key. Data never crosses a tenant.</summary>
public readonly record struct Tenant(string AccountId, bool Livemode);

/// <summary>Who caused a change, as written to the audit log: an API key, the dashboard, or the system itself.</summary>
public sealed record Actor(string Type, string Id)
{
    public static Actor System { get; } = new("system", "system");
    public static Actor ApiKey(string keyId) => new("api_key", keyId);
    public override string ToString() => Id;
}

/// <summary>
/// Everything a use case needs to know about the call besides its input: tenant, actor, request id
/// and the time, read once from the injected clock so one operation sees one "now".
/// </summary>
public sealed class OperationContext(Tenant tenant, Actor actor, string requestId, DateTimeOffset now)
{
    public Tenant Tenant { get; } = tenant;
    public Actor Actor { get; } = actor;
    public string RequestId { get; } = requestId;
    public DateTimeOffset Now { get; } = now;

    public string NewId(string prefix) => Ids.New(prefix, Now);

    /// <summary>The same operation at another time: a test clock's customers live in the clock's time.</summary>
    public OperationContext At(DateTimeOffset now) => new(Tenant, Actor, RequestId, now);
}

/// <summary>Makes time-sortable ids with cryptographic randomness.</summary>
public static class Ids
{
    /// <summary>Random bytes drawn from the system generator at once, per thread: 64 ids' worth.</summary>
    private const int BufferBytes = KassaId.RandomBytes * 64;

    // Each call into the system generator (OpenSSL here) costs far more than its 10 bytes: a track makes
    // three ids, and drawing them one call each showed in the hot path's profile. The bytes are the same
    // cryptographic ones, drawn ahead per thread and each used once.
    [ThreadStatic] private static byte[]? t_random;
    [ThreadStatic] private static int t_used;

    public static string New(string prefix, DateTimeOffset now)
    {
        var buffer = t_random;
        if (buffer is null || t_used > buffer.Length - KassaId.RandomBytes)
        {
            buffer = t_random ??= new byte[BufferBytes];
            RandomNumberGenerator.Fill(buffer);
            t_used = 0;
        }
        var random = buffer.AsSpan(t_used, KassaId.RandomBytes);
        t_used += KassaId.RandomBytes;
        return KassaId.Format(prefix, now, random);
    }
}

/// <summary>Unix microseconds, the one time representation in storage (identical on both engines).</summary>
public static class Micros
{
    public static long From(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
    public static DateTimeOffset To(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
    public static DateTimeOffset? To(long? micros) => micros is { } m ? To(m) : null;
}
