using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Checkout;

/// <summary>
/// <c>POST /v1/checkout_sessions/{id}/expire</c>: ends an open session now, as its expiry would
/// (<see cref="CheckoutRules.ExpireAsync"/>). A completed or already expired session is <c>409 invalid_state</c>;
/// so is one with a charge in flight (try again once it settled).
/// </summary>
public static class ExpireCheckoutSession
{
    public static async Task<Result<CheckoutSessionResource>> Execute(IStoreSession s, OperationContext op, string id)
    {
        var session = await s.Checkout.GetAsync(op.Tenant, id, forUpdate: true);
        if (session is null) return KassaError.NotFound("checkout_session", id);
        session = await CheckoutRules.RefreshAsync(s, op, session);
        if (session.Status != CheckoutRules.Open) return KassaError.InvalidState($"Checkout session '{id}' is {session.Status}");
        if (!await CheckoutRules.ExpireAsync(s, op, session)) return KassaError.InvalidState($"Checkout session '{id}' has a payment in progress");
        return CheckoutSessionResource.From((await s.Checkout.GetAsync(op.Tenant, id))!);
    }

    /// <summary>Open sessions the worker expires in one round: at most this many per chunk.</summary>
    public const int ChunkSize = 100;

    /// <summary>
    /// One chunk of the expiry worker: open sessions whose expiry has passed, each in its own transaction
    /// (row locked, re-checked: one completed meanwhile is left alone). Returns how many it looked at.
    /// </summary>
    public static async Task<int> SweepAsync(IKassaStore store, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var due = await store.ReadAsync(s => s.Checkout.DueToExpireAsync(now, ChunkSize), ct);
        foreach (var (tenant, id) in due)
        {
            var op = new OperationContext(tenant, Actor.System, "checkout_expiry", now);
            await store.WriteAsync(async s =>
            {
                var session = await s.Checkout.GetAsync(tenant, id, forUpdate: true);
                if (session is not null) await CheckoutRules.RefreshAsync(s, op, session);
                return 0;
            }, ct: ct);
        }
        return due.Count;
    }
}
