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
/// A JSON object (empty when the event had none), parsed from <paramref name="PropertiesJson"/>, so it
/// is independent of the request's document and agrees exactly with the stored text.
/// </param>
/// <param name="PropertiesJson">The properties as compact JSON text, at most <see cref="MeterEventInput.PropertiesBytesMax"/> bytes of UTF-8.</param>
public sealed record NormalizedEvent(
    string Id,
    string EventName,
    string CustomerId,
    DateTimeOffset Timestamp,
    JsonElement Properties,
    string PropertiesJson);
