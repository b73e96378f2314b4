using System.Security.Cryptography;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Idempotency;

public enum ClaimOutcome
{
    /// <summary>This request holds the key and runs; its effect and response commit together.</summary>
    Claimed,
    /// <summary>An earlier request with the same key and body completed: answer its stored response.</summary>
    Replay,
    /// <summary>An earlier request with the same key is still running: 409 idempotency_key_in_use.</summary>
    InUse,
    /// <summary>The key was used for a different method, path or body: 422 idempotency_key_reused.</summary>
    Reused,
}

public sealed record ClaimResult(ClaimOutcome Outcome, string? ClaimToken = null, IdempotencyRecord? Previous = null);

/// <summary>
/// Spec §1.3. A key is claimed in a short transaction of its own before the request runs; the
/// request's own transaction then stores the response only if it still holds the claim token, so
/// the effect and the stored response commit together and the effect happens at most once. A claim
/// whose holder died is taken over once its lease ends.
/// </summary>
public static class ClaimIdempotencyKey
{
    /// <summary>How long a stored response is replayed (the spec asks for at least 24 h).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a running request holds its key before a retry may take it over. Longer than any
    /// request may run (the request timeout is shorter), so a live holder is never overtaken; a
    /// holder that lost its claim anyway finds out when it completes and rolls its effect back.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    public static string Fingerprint(string method, string pathAndQuery, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{method} {pathAndQuery}\n"));
        hash.AppendData(body);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static async Task<ClaimResult> Execute(IStoreSession session, Tenant tenant, string key, string fingerprint, string requestId, DateTimeOffset now)
    {
        var token = Guid.NewGuid().ToString("N");
        var claim = new IdempotencyRecord(tenant.AccountId, tenant.Livemode, key, fingerprint, false, token, requestId, now + Lease, null, null, now, now + Retention);
        // Two passes: a concurrent claimer may insert between our read and our insert.
        for (var pass = 0; pass < 2; pass++)
        {
            var existing = await session.Idempotency.GetAsync(tenant, key);
            if (existing is null)
            {
                if (await session.Idempotency.TryInsertAsync(claim)) return new ClaimResult(ClaimOutcome.Claimed, token);
                continue;
            }
            if (existing.ExpiresAt <= now || (!existing.Completed && existing.LockedUntil <= now))
            {
                // Expired (a new use of an old key) or abandoned by a holder that died mid-request.
                if (await session.Idempotency.TryTakeOverAsync(claim, existing.ClaimToken)) return new ClaimResult(ClaimOutcome.Claimed, token);
                continue;
            }
            if (existing.Fingerprint != fingerprint) return new ClaimResult(ClaimOutcome.Reused, Previous: existing);
            return existing.Completed ? new ClaimResult(ClaimOutcome.Replay, Previous: existing) : new ClaimResult(ClaimOutcome.InUse, Previous: existing);
        }
        return new ClaimResult(ClaimOutcome.InUse);
    }
}
