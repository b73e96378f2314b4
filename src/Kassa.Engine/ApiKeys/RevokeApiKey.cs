using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ApiKeys;

/// <summary>
/// <c>POST /v1/api_keys/{id}/revoke</c>. Revoking twice is refused with <c>invalid_state</c>; a key may
/// revoke itself (the response is the last thing it is allowed to read).
/// </summary>
public static class RevokeApiKey
{
    public static async Task<Result<ApiKeyRecord>> Execute(IStoreSession session, OperationContext op, string id)
    {
        var key = await session.ApiKeys.GetAsync(op.Tenant, id);
        if (key is null) return KassaError.NotFound("api_key", id);
        if (key.RevokedAt is not null) return KassaError.InvalidState($"API key '{id}' is already revoked");
        // The conditional update decides a race between two revocations: only one changes the row.
        if (!await session.ApiKeys.RevokeAsync(op.Tenant, id, op.Now)) return KassaError.InvalidState($"API key '{id}' is already revoked");
        await RecordAudit.Execute(session, op, "api_key.revoked", "api_key", id, ["revoked_at"]);
        return key with { RevokedAt = op.Now };
    }
}
