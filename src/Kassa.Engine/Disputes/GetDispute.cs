using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Disputes;

/// <summary><c>GET /v1/disputes/{id}</c>.</summary>
public static class GetDispute
{
    public static async Task<Result<DisputeResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.Disputes.GetAsync(tenant, id) is { } d ? DisputeResource.From(d) : KassaError.NotFound("dispute", id);
}
