using System.Text.Json;

namespace Kassa.Core.Metering;

/// <summary>
/// A meter event after <see cref="MeterEventInput.TryNormalize"/>: aliases resolved, every field
/// checked, ready to store and to match against meters.
/// </summary>
/// <param name="Id">The client's event id, unique per account and mode for <see cref="MeterEventInput.DedupeWindow"/>.</param>
/// <param name="EventName">The event name meters match on.</param>
/// <param name="CustomerId">The customer's id.</param>
/// <param name="Timestamp">When the usage happened, in UTC, truncated to microseconds (what every engine stores).</param>
/// <param name="Properties">
/// A JSON object (empty when the event had none): the request's element, with the same names and values as
/// <paramref name="PropertiesJson"/>. It lives in the request's document, so whoever normalised the event
/// keeps that document open until the event is stored (a disposed document throws when read).
/// </param>
/// <param name="PropertiesJson">The properties as compact JSON text, at most <see cref="MeterEventInput.PropertiesBytesMax"/> bytes of UTF-8.</param>
public sealed record NormalizedEvent(
    string Id,
    string EventName,
    string CustomerId,
    DateTimeOffset Timestamp,
    JsonElement Properties,
    string PropertiesJson);
