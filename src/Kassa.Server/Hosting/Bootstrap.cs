using Kassa.Engine.Accounts;
using Kassa.Engine.Storage;

namespace Kassa.Server.Hosting;

/// <summary>
/// First start: when no account exists, create one so the server is usable at once. With
/// <c>KASSA_BOOTSTRAP_KEY</c> its test secret key is exactly that key (scripted set-ups, CI);
/// otherwise a random key is made and printed once. Several nodes starting together create one
/// account between them (a unique marker row decides).
/// </summary>
public static class Bootstrap
{
    public static async Task<CreateAccount.Created?> EnsureFirstAccountAsync(IKassaStore store, TimeProvider time, string? bootstrapKey, CancellationToken ct)
    {
        if (await store.ReadAsync(s => s.Accounts.AnyAsync(), ct)) return null;
        var result = await store.WriteAsync(s => CreateAccount.Execute(s, time.GetUtcNow(), "Default account", bootstrapKey, onlyIfFirst: true),
            commitIf: r => r.IsOk && r.Value is not null, ct: ct);
        if (!result.IsOk) throw new ArgumentException(result.Error!.Message);
        return result.Value;
    }
}
