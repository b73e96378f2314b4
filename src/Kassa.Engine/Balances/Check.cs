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
/// <c>POST /v1/check</c> (spec §5.1): may the customer use a feature? Optionally deducts
/// (<c>send_event</c>) or holds (<c>lock</c>) in the same atomic step. The request is validated here
/// into a <see cref="CheckOp"/>; a check that changes nothing is decided from a read session
/// (<see cref="ApplyBalanceBatch.CheckReadOnly"/>), the rest by the balance engine.
/// </summary>
public static class Check
{
    /// <summary>A lock may be held at most this long (spec §5.1).</summary>
    public static readonly TimeSpan LockTtlMax = TimeSpan.FromHours(24);

    public sealed record LockOptions(bool? Enabled, DateTimeOffset? ExpiresAt);

    public sealed record Request(string? CustomerId, string? FeatureId, string? EntityId, decimal? RequiredBalance, bool? SendEvent, LockOptions? Lock,
        string? IdempotencyKey, Dictionary<string, JsonElement>? Properties) : ICustomerScoped;

    /// <summary>
    /// The operation the request asks for, or why it is refused. <c>idempotency_key</c> is the body's
    /// per-customer usage key (spec §5.2, kept 30 days); the <c>Idempotency-Key</c> header is the
    /// request-level key of spec §1.3 and is handled before this runs.
    /// </summary>
    public static Result<CheckOp> Validate(Request r, Tenant tenant, string requestId, DateTimeOffset now)
    {
        if (BalanceInput.Ids(r.CustomerId, r.FeatureId, r.EntityId) is { } idError) return idError;
        if (Micro.Problem(r.RequiredBalance ?? 1, allowZero: false, allowNegative: false, out var required) is { } q)
            return KassaError.Validation("required_balance", q);
        if (BalanceInput.UsageKey(r.IdempotencyKey) is { } keyError) return keyError;
        DateTimeOffset? lockUntil = null;
        if (r.Lock is { Enabled: true } l)
        {
            lockUntil = l.ExpiresAt ?? now + ApplyBalanceBatch.LockTtlDefault;
            if (lockUntil <= now || lockUntil > now + LockTtlMax) return KassaError.Validation("lock.expires_at", "must be in the future and at most 24 hours ahead");
        }
        return new CheckOp(tenant, requestId, now, r.CustomerId!, r.FeatureId!, r.EntityId ?? "", required, r.SendEvent ?? false, lockUntil, r.IdempotencyKey);
    }

    /// <summary>True when the check changes nothing (no deduction, no lock): decided from a read session, no queue, no write.</summary>
    public static bool IsReadOnly(CheckOp op) => !op.SendEvent && op.LockExpiresAt is null;
}

/// <summary>Validation shared by check and track.</summary>
internal static class BalanceInput
{
    public static KassaError? Ids(string? customerId, string? featureId, string? entityId)
    {
        if (customerId is null) return KassaError.Missing("customer_id");
        if (featureId is null) return KassaError.Missing("feature_id");
        if (Rules.CustomerId(customerId) is { } c) return KassaError.Validation("customer_id", c);
        if (Rules.Slug(featureId) is { } f) return KassaError.Validation("feature_id", f);
        if (entityId is not null && Rules.CustomerId(entityId) is { } e) return KassaError.Validation("entity_id", e);
        return null;
    }

    /// <summary>The body's idempotency_key (per-customer usage dedupe): the same shape as the header's key.</summary>
    public static KassaError? UsageKey(string? key) =>
        key is not null && Rules.IdempotencyKey(key) is { } problem ? KassaError.Validation("idempotency_key", problem) : null;
}

public static partial class ApplyBalanceBatch
{
    private sealed partial class Decider
    {
        private Result<CheckResponse> Check(CheckOp op)
        {
            var deny = (string code, BalanceView? balance) => new CheckResponse(false, op.CustomerId, op.FeatureId, code, balance, null);
            if (!book.Customers.Contains(op.CustomerId)) return deny(CheckCodes.CustomerNotFound, null);
            if (!features.ContainsKey(op.FeatureId)) return deny(CheckCodes.FeatureNotFound, null);
            if (op.IdempotencyKey is { } key && seen.TryGetValue((op.CustomerId, key), out var stored))
                return JsonSerializer.Deserialize<CheckResponse>(stored, KassaJson.Options)!;
            if (Resolve(op.CustomerId, op.FeatureId, op.EntityId, op.Now) is not { } resolved) return deny(CheckCodes.NoAccess, null);
            var (live, cost) = resolved;
            if (live.Header.Suspended) return deny(CheckCodes.SubscriptionPaused, live.Header.IsFlag ? null : live.View(op.Now));
            if (live.Header.IsFlag) return new CheckResponse(true, op.CustomerId, op.FeatureId, null, null, null);

            var amount = Scale(op.Required, cost);
            var before = live.Remaining(op.Now);
            var blocked = live.Header.OveragePolicy == OveragePolicy.Blocked && !live.Header.Unlimited;
            if (blocked && before < amount && op.LockExpiresAt is null) return deny(CheckCodes.InsufficientBalance, live.View(op.Now));
            if (CapReached(live, amount, op.Now)) return deny(CheckCodes.SpendCapReached, live.View(op.Now));
            CheckResponse response;
            if (op.LockExpiresAt is { } expiresAt)
            {
                var parts = live.Header.Unlimited ? [new Part(null, amount)] : live.Balance.TryHold(amount, op.Now, allowOverage: !blocked);
                if (parts is null) return deny(CheckCodes.InsufficientBalance, live.View(op.Now));
                var l = new LockRecord(book.Tenant.AccountId, book.Tenant.Livemode, Ids.New(IdPrefixes.Lock, op.Now), live.Header.CustomerId,
                    live.Header.FeatureId, live.Header.EntityId, LockStatus.Held, amount, null, parts, expiresAt, op.Now, null);
                book.TrackHeld(l);
                writes.NewLocks.Add(l);
                Log(live, op.Now, "lock", l.Id);
                response = new CheckResponse(true, op.CustomerId, op.FeatureId, null, live.View(op.Now), l.Id);
            }
            else if (op.SendEvent)
            {
                Consume(live, amount, op.Now);
                var usageId = Ids.New(IdPrefixes.MeterEvent, op.Now);
                Log(live, op.Now, "usage", usageId);
                response = new CheckResponse(true, op.CustomerId, op.FeatureId, null, live.View(op.Now), null);
                RecordKeyed(op.IdempotencyKey, usageId, op.CustomerId, op.FeatureId, op.EntityId, op.Required, op.Now, op.Now, response);
            }
            else
            {
                return new CheckResponse(true, op.CustomerId, op.FeatureId, null, live.View(op.Now), null);
            }
            Exhausted(live, before, op.Now, op.RequestId);
            return response;
        }

        /// <summary>
        /// True when the customer's spend cap on this balance's feature would be passed by taking
        /// <paramref name="amount"/>: only billed overage with a price counts (spec §5.5).
        /// </summary>
        private bool CapReached(LiveBalance live, long amount, DateTimeOffset now)
        {
            var h = live.Header;
            if (h.Unlimited || h.OveragePolicy != OveragePolicy.Billed || h.OveragePrice is null) return false;
            if (book.SpendCap(h.CustomerId, h.FeatureId) is not { } cap) return false;
            var price = live.OveragePriceModel ??= CatalogRules.ToUsagePrice(JsonSerializer.Deserialize<Price>(h.OveragePrice, KassaJson.Options)!)!;
            return SpendCap.WouldPass(price, book.PeriodOverage(h.CustomerId, h.FeatureId), live.Remaining(now), amount, cap);
        }

    }
}
