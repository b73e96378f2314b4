namespace Kassa.Engine.Events;

/// <summary>
/// Every event type Kassa emits (spec §10 plus the catalog and webhook events named here).
/// Webhook endpoints may subscribe only to these or to <c>*</c>, so a typo never silently
/// subscribes to nothing.
/// </summary>
public static class EventTypes
{
    public const string CustomerCreated = "customer.created";
    public const string CustomerUpdated = "customer.updated";
    public const string CustomerDeleted = "customer.deleted";
    public const string FeatureCreated = "feature.created";
    public const string FeatureUpdated = "feature.updated";
    public const string FeatureArchived = "feature.archived";
    public const string ProductCreated = "product.created";
    public const string ProductUpdated = "product.updated";
    public const string ProductVersionCreated = "product.version_created";
    public const string ProductArchived = "product.archived";
    /// <summary>A <c>POST /v1/products/{id}/migrate</c> call marked subscriptions to move at their next renewal.</summary>
    public const string ProductMigrated = "product.migrated";
    public const string WebhookEndpointDisabled = "webhook_endpoint.disabled";
    public const string EntitlementExhausted = "entitlement.exhausted";
    public const string BalanceLow = "balance.low";
    public const string LockExpired = "lock.expired";
    public const string CreditGrantCreated = "credit_grant.created";
    public const string CreditGrantVoided = "credit_grant.voided";
    public const string CreditGrantExpired = "credit_grant.expired";
    public const string InvoiceCreated = "invoice.created";
    public const string InvoiceFinalized = "invoice.finalized";
    public const string InvoiceVoided = "invoice.voided";
    public const string InvoiceMarkedUncollectible = "invoice.marked_uncollectible";
    public const string SubscriptionCreated = "subscription.created";
    public const string SubscriptionActivated = "subscription.activated";
    public const string SubscriptionUpdated = "subscription.updated";
    public const string SubscriptionRenewed = "subscription.renewed";
    public const string SubscriptionPastDue = "subscription.past_due";
    public const string SubscriptionPaused = "subscription.paused";
    public const string SubscriptionResumed = "subscription.resumed";
    public const string SubscriptionCanceled = "subscription.canceled";
    public const string SubscriptionScheduled = "subscription.scheduled";
    public const string InvoicePaid = "invoice.paid";
    public const string InvoicePaymentFailed = "invoice.payment_failed";
    public const string PaymentSucceeded = "payment.succeeded";
    public const string PaymentFailed = "payment.failed";
    public const string PaymentRefunded = "payment.refunded";
    public const string PaymentMethodAttached = "payment_method.attached";
    public const string PaymentMethodDetached = "payment_method.detached";
    public const string DisputeOpened = "dispute.opened";
    public const string DisputeWon = "dispute.won";
    public const string DisputeLost = "dispute.lost";
    public const string CheckoutCompleted = "checkout.completed";
    public const string CheckoutExpired = "checkout.expired";
    public const string CreditNoteCreated = "credit_note.created";
    public const string CreditNoteVoided = "credit_note.voided";
    public const string AutoTopUpSucceeded = "auto_top_up.succeeded";
    public const string AutoTopUpFailed = "auto_top_up.failed";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        CustomerCreated, CustomerUpdated, CustomerDeleted,
        FeatureCreated, FeatureUpdated, FeatureArchived,
        ProductCreated, ProductUpdated, ProductVersionCreated, ProductArchived, ProductMigrated,
        WebhookEndpointDisabled,
        // Announced by the spec and emitted by later capabilities; endpoints may subscribe already.
        "subscription.created", "subscription.activated", "subscription.updated", "subscription.renewed", "subscription.past_due",
        "subscription.paused", "subscription.resumed", "subscription.canceled", "subscription.scheduled",
        "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed", "invoice.voided", "invoice.marked_uncollectible",
        "payment.succeeded", "payment.failed", "payment.refunded", CheckoutCompleted, CheckoutExpired,
        "payment_method.attached", "payment_method.detached",
        "credit_grant.created", "credit_grant.expired", "credit_grant.voided",
        CreditNoteCreated, CreditNoteVoided,
        DisputeOpened, DisputeWon, DisputeLost,
        AutoTopUpSucceeded, AutoTopUpFailed,
        "balance.low", "entitlement.exhausted", "lock.expired",
    };
}
