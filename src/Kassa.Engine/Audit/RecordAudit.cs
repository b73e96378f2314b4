using Kassa.Core.Ids;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Audit;

/// <summary>Appends one audit event for a mutation, inside the mutation's own transaction.</summary>
public static class RecordAudit
{
    public static Task Execute(IStoreSession session, OperationContext op, string action, string objectType, string objectId, IReadOnlyList<string> changedFields) =>
        session.Audit.AppendAsync(new AuditRecord(
            op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.AuditEvent), op.Now, op.Actor.Type, op.Actor.Id,
            action, objectType, objectId, op.RequestId, changedFields));
}
