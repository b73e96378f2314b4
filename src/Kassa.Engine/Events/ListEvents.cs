using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Events;

/// <summary><c>GET /v1/events</c>: newest first, optionally of one type or about one object.</summary>
public static class ListEvents
{
    public static async Task<Result<Page<EventResource>>> Execute(IStoreSession session, Tenant tenant, EventFilter filter, PageRequest page)
    {
        if (filter.Type is not null && !EventTypes.All.Contains(filter.Type))
            return KassaError.Validation("type", "is not an event type Kassa emits");
        var rows = await session.Events.ListAsync(tenant, filter, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.CreatedAt), e.Id), EventResource.From);
    }
}

/// <summary><c>GET /v1/events/{id}</c>.</summary>
public static class GetEvent
{
    public static async Task<Result<EventResource>> Execute(IStoreSession session, Tenant tenant, string id)
    {
        var e = await session.Events.GetAsync(tenant, id);
        return e is null ? KassaError.NotFound("event", id) : EventResource.From(e);
    }
}
