using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Subscriptions;

/// <summary>
/// <c>POST /v1/subscribe/preview</c> (spec §4.1): what <c>POST /v1/subscribe</c> with the same body would
/// bill now, with no effect. It runs the subscribe itself inside a transaction that is always rolled
/// back, so the preview is exactly what subscribing would do — the same lines, proration, coupon,
/// tax and customer credit — and nothing of it (not the invoice number, not the coupon redemption)
/// is kept. The caller runs it in a write transaction that never commits.
/// </summary>
public static class PreviewSubscribe
{
    public sealed record LineItem(string Description, long Amount);

    public sealed record Preview(IReadOnlyList<LineItem> LineItems, long Subtotal, long Discount, long Tax, long Total, string? Currency, long DueNow,
        DateTimeOffset? NextBillingAt)
    {
        [JsonPropertyOrder(-1)] public string Object => "subscription_preview";
    }

    public static async Task<Result<Preview>> Execute(IStoreSession s, OperationContext op, Subscribe.Request request)
    {
        var started = await Subscribe.Execute(s, op, request);
        if (!started.IsOk) return started.Error!;
        var r = started.Value.Response;
        var sub = r.Subscription;
        var next = sub.Status == SubscriptionStatus.Scheduled ? sub.CurrentPeriodStart : sub.CurrentPeriodEnd;
        if (r.Invoice is not { } invoice) return new Preview([], 0, 0, 0, 0, sub.Currency, 0, next);
        return new Preview([.. invoice.Lines.Select(l => new LineItem(l.Description, l.Amount))], invoice.Subtotal, invoice.Discount, invoice.Tax,
            invoice.Total, invoice.Currency, invoice.AmountDue, next);
    }
}
