using Kassa.Core.Ids;
using Kassa.Core.Webhooks;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Webhooks;

/// <summary>What one HTTP attempt to an endpoint came to.</summary>
public sealed record AttemptResult(int? StatusCode, bool TimedOut, string? Error, long DurationMs, TimeSpan? RetryAfter);

/// <summary>
/// Records one delivery attempt in one transaction: the attempt row, the queue row's next state
/// (delivered, retry at the scheduled time, or failed for good), and the endpoint's health. A 410
/// disables the endpoint at once; failing continuously for 3 days disables it too; either emits
/// <c>webhook_endpoint.disabled</c>.
/// </summary>
public static class RecordDeliveryAttempt
{
    public static async Task Execute(IStoreSession session, ClaimedDelivery d, AttemptResult result, DateTimeOffset now, double jitterFraction)
    {
        var attempt = d.AttemptsMade + 1;
        var outcome = WebhookRetry.Classify(result.StatusCode, result.TimedOut);
        DateTimeOffset? next = outcome == DeliveryOutcome.Retry
            ? WebhookRetry.NextAttemptAt(attempt, now, jitterFraction, WebhookRetry.HonoursRetryAfter(result.StatusCode) ? result.RetryAfter : null)
            : null;
        var state = outcome == DeliveryOutcome.Success ? "delivered" : next is null ? "failed" : "pending";
        // If another worker took the row over (this attempt outlived its lease) the row stays theirs;
        // the attempt itself still happened and is recorded.
        await session.Webhooks.CompleteAttemptAsync(d.QueueId, d.Lease, state, attempt, next ?? now);
        var tenant = new Tenant(d.AccountId, d.Livemode);
        await session.Webhooks.AppendAttemptAsync(new WebhookAttemptRecord(
            d.AccountId, d.Livemode, Ids.New(IdPrefixes.WebhookDelivery, now), d.EndpointId, d.EventId, d.EventType, attempt, result.StatusCode,
            result.DurationMs, result.Error, outcome == DeliveryOutcome.Success, next, now));

        var endpoint = await session.Webhooks.GetEndpointAsync(tenant, d.EndpointId, forUpdate: true);
        if (endpoint is null) return;
        if (outcome == DeliveryOutcome.Success)
        {
            if (endpoint.FailingSince is not null) await session.Webhooks.UpdateEndpointAsync(endpoint with { FailingSince = null, UpdatedAt = now });
            return;
        }
        var failingSince = endpoint.FailingSince ?? now;
        string? disableReason = outcome == DeliveryOutcome.Gone ? "endpoint_gone" : WebhookRetry.ShouldDisable(failingSince, now) ? "failing_for_3_days" : null;
        if (disableReason is null || endpoint.Disabled)
        {
            if (endpoint.FailingSince is null) await session.Webhooks.UpdateEndpointAsync(endpoint with { FailingSince = failingSince, UpdatedAt = now });
            return;
        }
        var disabled = endpoint with { Disabled = true, DisabledReason = disableReason, FailingSince = failingSince, UpdatedAt = now };
        await session.Webhooks.UpdateEndpointAsync(disabled);
        var op = new OperationContext(tenant, Actor.System, Ids.New(IdPrefixes.Request, now), now);
        await EmitEvent.Execute(session, op, EventTypes.WebhookEndpointDisabled, "webhook_endpoint", endpoint.Id, WebhookEndpointResource.From(disabled),
            new Dictionary<string, object?> { ["status"] = "enabled" });
    }
}
