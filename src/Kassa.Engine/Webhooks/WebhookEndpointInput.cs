using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Core.Webhooks;
using Kassa.Engine.Events;

namespace Kassa.Engine.Webhooks;

/// <summary>Validation shared by create and update of webhook endpoints.</summary>
internal static class WebhookEndpointInput
{
    public const int EventFiltersMax = 100;
    public const int DescriptionLengthMax = 500;

    public static void CheckUrl(string url, bool livemode, List<FieldError> errors)
    {
        if (Rules.Text(url, 2048, allowEmpty: false) is { } text) errors.Add(new FieldError("url", text));
        else if (WebhookUrlPolicy.CheckUrl(url, livemode) is { } reason) errors.Add(new FieldError("url", reason));
    }

    public static void CheckEvents(IReadOnlyList<string>? events, List<FieldError> errors)
    {
        if (events is null) return;
        if (events.Count == 0) errors.Add(new FieldError("events", "must name at least one event type, or \"*\" for all"));
        if (events.Count > EventFiltersMax) errors.Add(new FieldError("events", $"may name at most {EventFiltersMax} event types"));
        for (var i = 0; i < Math.Min(events.Count, EventFiltersMax); i++)
        {
            if (events[i] != "*" && !EventTypes.All.Contains(events[i] ?? ""))
                errors.Add(new FieldError($"events[{i}]", $"'{events[i]}' is not an event type Kassa emits"));
        }
    }

    public static void CheckDescription(string? description, List<FieldError> errors)
    {
        if (Rules.Text(description, DescriptionLengthMax) is { } d) errors.Add(new FieldError("description", d));
    }
}
