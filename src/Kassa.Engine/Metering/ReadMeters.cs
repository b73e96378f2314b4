using Kassa.Core.Errors;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Metering;

/// <summary><c>GET /v1/meters/{id}</c>.</summary>
public static class GetMeter
{
    public static async Task<Result<MeterResource>> Execute(IStoreSession s, Tenant tenant, string id) =>
        await s.Metering.GetMeterAsync(tenant, id) is { } m ? MeterResource.From(m) : KassaError.NotFound("meter", id);
}

/// <summary><c>GET /v1/meters</c>: newest first.</summary>
public static class ListMeters
{
    public static async Task<Result<Page<MeterResource>>> Execute(IStoreSession s, Tenant tenant, PageRequest page)
    {
        var rows = await s.Metering.ListMetersAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, m => new Cursor(Micros.From(m.CreatedAt), m.Id), MeterResource.From);
    }
}

/// <summary><c>GET /v1/meter_events?customer_id=&amp;event_name=&amp;from=&amp;to=</c>: raw events, newest first by timestamp.</summary>
public static class ListMeterEvents
{
    public static async Task<Result<Page<MeterEventResource>>> Execute(IStoreSession s, Tenant tenant, string? customerId, string? eventName,
        DateTimeOffset? from, DateTimeOffset? to, PageRequest page)
    {
        var rows = await s.Metering.ListEventsAsync(tenant, customerId, eventName, from, to, page.After, page.Limit + 1);
        return page.Build(rows, e => new Cursor(Micros.From(e.Timestamp), e.Id), MeterEventResource.From);
    }
}
