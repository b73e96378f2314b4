using System.Text.Json;
using System.Text.Json.Serialization;
using Kassa.Core.Ids;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Events;

/// <summary>
/// Writes an event into the outbox inside the caller's transaction: it exists exactly when the
/// change it describes was committed. Delivery happens later, from the outbox.
/// </summary>
public static class EmitEvent
{
    private sealed record Data(object Object, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, object?>? PreviousAttributes);

    public static Task Execute(IStoreSession session, OperationContext op, string type, string objectType, string objectId, object resource,
        IReadOnlyDictionary<string, object?>? previousAttributes = null)
    {
        var data = JsonSerializer.Serialize(new Data(resource, previousAttributes), KassaJson.Options);
        return session.Events.AppendAsync(new EventRecord(
            op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.Event), type, objectType, objectId, data, op.RequestId, op.Now));
    }
}
