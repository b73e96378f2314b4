namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// What applying a provider event did, stored on its dedupe row and answered to the provider. Every
/// value except <see cref="Applied"/> means the event was recorded and acknowledged with no effect, and
/// names why: a provider must not retry those, because a retry would find the same facts.
/// </summary>
public static class ProviderEventOutcomes
{
    public const string Applied = "applied";
    /// <summary>The event type means nothing to Kassa (the reader gave no effect).</summary>
    public const string Unhandled = "ignored_unhandled_type";
    /// <summary>No payment of this provider and tenant has that id or charge id: not a charge Kassa made.</summary>
    public const string UnknownPayment = "ignored_unknown_payment";
    /// <summary>The payment is settled already (an earlier or a later event, or Kassa's own call, recorded it first).</summary>
    public const string AlreadySettled = "ignored_already_settled";
    /// <summary>The event's amount or currency is not the payment's: never applied to money Kassa does not recognise.</summary>
    public const string AmountMismatch = "ignored_amount_mismatch";
    /// <summary>The refund was recorded before, by Kassa's own call or another event.</summary>
    public const string AlreadyRecorded = "ignored_already_recorded";
    /// <summary>The payment cannot be refunded (not succeeded, or nothing left of it).</summary>
    public const string NotRefundable = "ignored_not_refundable";
    public const string UnknownCustomer = "ignored_unknown_customer";
    public const string AlreadyAttached = "ignored_already_attached";
    public const string UnknownMethod = "ignored_unknown_method";
    /// <summary>Recorded only, until the checkout sessions are wired to <see cref="ICheckoutCompletedHandler"/>.</summary>
    public const string Recorded = "recorded";
    public const string UnknownStatus = "ignored_unknown_status";
    /// <summary>The dispute is won or lost already: a status never moves back from there.</summary>
    public const string DisputeClosed = "ignored_dispute_closed";
    public const string Unchanged = "ignored_unchanged";
}
