namespace Kassa.Core.Ids;

/// <summary>The id prefixes of spec §1, one constant each, so a typo is a compile error.</summary>
public static class IdPrefixes
{
    public const string Account = "acct";
    public const string ApiKey = "key";
    public const string Customer = "cus";
    public const string CustomerSession = "cst";
    public const string Event = "evt";
    public const string AuditEvent = "aud";
    public const string Request = "req";
    public const string TestClock = "clock";
    public const string Price = "price";
    public const string Subscription = "sub";
    public const string WebhookEndpoint = "we";
    public const string WebhookDelivery = "wd";
    public const string Bucket = "bkt";
    public const string Grant = "grant";
    public const string Lock = "lock";
    public const string MeterEvent = "mev";
    public const string CreditTransaction = "ctx";
    public const string Invoice = "in";
    public const string InvoiceLine = "il";
    public const string JournalEntry = "je";
    public const string Payment = "pay";
    public const string PaymentMethod = "pm";
    public const string Refund = "re";
    public const string Dispute = "dp";
    public const string Coupon = "cpn";
    public const string TaxRate = "txr";
    public const string CreditNote = "cn";
    public const string CheckoutSession = "cs";
    /// <summary>One use of a coupon (internal: not in the spec's list, never an API path).</summary>
    public const string CouponRedemption = "cpr";
    /// <summary>One change of a customer credit balance (shown in its transactions).</summary>
    public const string CustomerCreditTransaction = "cbtx";
    /// <summary>A group-commit batch (internal: names the marker row that settles an unknown commit outcome).</summary>
    public const string GroupCommit = "gcb";
}
