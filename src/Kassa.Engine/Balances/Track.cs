using System.Text.Json;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Pricing;
using Kassa.Core.Validation;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// <c>POST /v1/track</c> (spec §5.2): records usage that already happened. It never refuses for
/// balance: past zero it becomes overage; a negative value is a correction. The same body
/// <c>idempotency_key</c> for one customer within 30 days is recorded once and answers the first result.
/// </summary>
public static class Track
{
    // A track's timestamp follows the meter events' rule (spec §6): usage from 35 days back to 5 minutes ahead.
    public static readonly TimeSpan PastMax = Kassa.Core.Metering.MeterEventInput.DedupeWindow;
    public static readonly TimeSpan FutureMax = Kassa.Core.Metering.MeterEventInput.FutureSkew;

    public sealed record Request(string? CustomerId, string? FeatureId, decimal? Value, string? EntityId, string? IdempotencyKey, DateTimeOffset? Timestamp,
        Dictionary<string, JsonElement>? Properties) : ICustomerScoped;

    /// <summary>The operation the request asks for, or why it is refused (see <see cref="Check.Validate"/> on the two idempotency keys).</summary>
    public static Result<TrackOp> Validate(Request r, Tenant tenant, string requestId, DateTimeOffset now)
    {
        if (BalanceInput.Ids(r.CustomerId, r.FeatureId, r.EntityId) is { } idError) return idError;
        if (Micro.Problem(r.Value ?? 1, allowZero: true, allowNegative: true, out var value) is { } q) return KassaError.Validation("value", q);
        if (BalanceInput.UsageKey(r.IdempotencyKey) is { } keyError) return keyError;
        if (r.Timestamp is { } ts && (ts < now - PastMax || ts > now + FutureMax))
            return KassaError.Validation("timestamp", "must be within the last 35 days and at most 5 minutes ahead");
        return new TrackOp(tenant, requestId, now, r.CustomerId!, r.FeatureId!, r.EntityId ?? "", value, r.IdempotencyKey, r.Timestamp ?? now);
    }
}

public static partial class ApplyBalanceBatch
{
    private sealed partial class Decider
    {
        private Result<TrackResponse> Track(TrackOp op)
        {
            if (!book.Customers.Contains(op.CustomerId)) return KassaError.NotFound("customer", op.CustomerId) with { Param = "customer_id" };
            if (!features.ContainsKey(op.FeatureId)) return KassaError.NotFound("feature", op.FeatureId) with { Param = "feature_id" };
            if (op.IdempotencyKey is { } key && seen.TryGetValue((op.CustomerId, key), out var stored))
                return JsonSerializer.Deserialize<TrackResponse>(stored, KassaJson.Options)!;
            var usageId = Ids.New(IdPrefixes.MeterEvent, op.Now);
            BalanceView? view = null;
            if (Resolve(op.CustomerId, op.FeatureId, op.EntityId, op.Now) is { } resolved && !resolved.Live.Header.IsFlag)
            {
                var (live, cost) = resolved;
                var before = live.Remaining(op.Now);
                var amount = Scale(Math.Abs(op.Value), cost);
                if (op.Value > 0) Consume(live, amount, op.Now);
                else if (op.Value < 0) live.Balance.Correct(amount, op.Now);
                live.Touched = true;
                Log(live, op.Now, "usage", usageId);
                view = live.View(op.Now);
                Exhausted(live, before, op.Now, op.RequestId);
            }
            var response = new TrackResponse(usageId, op.CustomerId, op.FeatureId, Micro.ToDecimal(op.Value), view);
            // What the track moved is in the balance and its movement, whose source is this id.
            RecordKeyed(op.IdempotencyKey, usageId, op.CustomerId, op.FeatureId, op.EntityId, op.Value, op.OccurredAt, op.Now, response);
            return response;
        }

    }
}
