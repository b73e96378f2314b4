using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Kassa.Core.Balances;
using Kassa.Engine.Common;

namespace Kassa.Engine.TopUps;

/// <summary>
/// The auto top-up settings of one customer and feature, and the state of its purchases: <c>Armed</c> is
/// false after a failed attempt (until the settings are set again or the customer gets a new default
/// payment method); <c>LastAttemptAt</c> is the claim of the last attempt, which keeps purchases at most
/// one per <see cref="AutoTopUpRules.Window"/>.
/// </summary>
public sealed record AutoTopUpRecord(
    string AccountId, bool Livemode, string CustomerId, string FeatureId, long Threshold, long Quantity, string ProductId, bool Enabled,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, bool Armed = true, DateTimeOffset? LastAttemptAt = null, string? LastFailureCode = null,
    string? LastInvoiceId = null, string? LastPaymentId = null)
{
    public Tenant Tenant => new(AccountId, Livemode);
}

/// <summary>The auto top-up settings of one customer and feature, with the outcome of the last purchase attempt.</summary>
/// <param name="Status"><c>armed</c> (will buy when the balance falls below the threshold), <c>failed</c> (the last attempt failed; disarmed until re-armed) or <c>disabled</c>.</param>
/// <param name="LastInvoiceId">The invoice of the last attempt (null before the first, or when it failed before invoicing).</param>
/// <param name="LastPaymentId">The payment of the last attempt.</param>
public sealed record AutoTopUpResource(string CustomerId, string FeatureId, decimal Threshold, long Quantity, string ProductId, bool Enabled, string Status,
    DateTimeOffset? LastAttemptAt, string? LastFailureCode, string? LastInvoiceId, string? LastPaymentId, bool Livemode,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonPropertyOrder(-1)] public string Object => "auto_top_up";

    public static AutoTopUpResource From(AutoTopUpRecord r) =>
        new(r.CustomerId, r.FeatureId, Micro.ToDecimal(r.Threshold), r.Quantity, r.ProductId, r.Enabled, AutoTopUpRules.StatusOf(r),
            r.LastAttemptAt, r.LastFailureCode, r.LastInvoiceId, r.LastPaymentId, r.Livemode, r.CreatedAt, r.UpdatedAt);
}

public static class AutoTopUpRules
{
    public const string Armed = "armed";
    public const string Failed = "failed";
    public const string Disabled = "disabled";

    public static readonly IReadOnlyList<string> Statuses = [Armed, Failed, Disabled];

    /// <summary>At most one purchase attempt per customer and feature in this span (spec §5.5), measured in the customer's time (a test clock's, if any).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    public const string RunProcessing = "processing";
    public const string RunSucceeded = "succeeded";
    public const string RunFailed = "failed";

    /// <summary>The failure code of an attempt when the customer has no default payment method.</summary>
    public const string NoDefaultPaymentMethod = "no_default_payment_method";

    public static string StatusOf(AutoTopUpRecord r) => !r.Enabled ? Disabled : r.Armed ? Armed : Failed;

    /// <summary>The start of the fixed 10-minute window an instant falls in: the key of the attempt made in it.</summary>
    public static DateTimeOffset WindowStart(DateTimeOffset at)
    {
        var ticks = at.UtcTicks - at.UtcTicks % Window.Ticks;
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>
    /// The attempt's deterministic key: the same customer, feature and window always give the same key, so
    /// a retry after a crash finds the attempt it made instead of making another.
    /// </summary>
    public static string RunKey(Tenant tenant, string customerId, string featureId, DateTimeOffset windowStart)
    {
        var text = $"{tenant.AccountId}\n{(tenant.Livemode ? "live" : "test")}\n{customerId}\n{featureId}\n{windowStart.ToUnixTimeSeconds()}";
        return "atu_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
    }
}
