using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Payments;
using Kassa.Core.Webhooks;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// The sandbox's webhook reader, so the whole provider-webhook pipeline runs without a real provider.
/// Deliveries are signed the Standard Webhooks way, exactly as Kassa signs its own outgoing webhooks
/// (<see cref="StandardWebhooks"/>: <c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>,
/// five minutes' tolerance), with the tenant's sandbox webhook secret (<see cref="SecretAsync"/>). The
/// body is a small JSON shape of Kassa's own that mirrors the normalized effects:
/// <c>{"id": "sbx_evt_…", "type": "charge.succeeded", "created": 1767225600, "livemode": false, "data": {…}}</c>
/// (see docs/provider-webhooks.md for every type and its <c>data</c>). Test mode only.
/// <para>
/// The secret is derived, not stored: HMAC-SHA256 of the tenant under one server-wide random key kept in
/// <c>kassa_meta</c> (row <see cref="ServerKeyName"/>, created on first use). Every node of one database
/// derives the same secret without a table, a migration or a per-tenant write, and no secret of one
/// tenant tells anything about another's. The price is that a tenant cannot rotate it — acceptable for a
/// test-mode simulator whose deliveries move no real money.
/// </para>
/// </summary>
public sealed class SandboxWebhookReader : IProviderWebhookReader
{
    public const string ProviderName = SandboxProvider.ProviderName;
    public const string ServerKeyName = "sandbox_webhook_key";

    public const string ChargeSucceededType = "charge.succeeded";
    public const string ChargeFailedType = "charge.failed";
    public const string ChargeRefundedType = "charge.refunded";
    public const string MethodAttachedType = "payment_method.attached";
    public const string MethodDetachedType = "payment_method.detached";
    public const string CheckoutCompletedType = "checkout.completed";
    public const string DisputeChangedType = "dispute.changed";

    /// <summary>Ids, tokens, codes and reasons in a sandbox event: short strings, bounded.</summary>
    public const int TextLengthMax = 255;

    public string Provider => ProviderName;

    /// <summary>The tenant's sandbox webhook secret (<c>whsec_…</c>); creates the server key on first use, so call it in a write transaction.</summary>
    public static async Task<string> SecretAsync(IStoreSession s, Tenant tenant)
    {
        ArgumentNullException.ThrowIfNull(s);
        var server = await s.Meta.GetOrAddAsync(ServerKeyName, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var key = HMACSHA256.HashData(Convert.FromBase64String(server),
            Encoding.UTF8.GetBytes($"sandbox-webhook-secret:{tenant.AccountId}:{(tenant.Livemode ? "live" : "test")}"));
        return WebhookSecret.Generate(key);
    }

    /// <summary>The three Standard Webhooks headers of a sandbox delivery (for the test helpers, tests and docs).</summary>
    public static IReadOnlyDictionary<string, string> SignHeaders(string secret, string messageId, DateTimeOffset at, string body)
    {
        if (!WebhookSecret.TryParse(secret, out var key)) throw new ArgumentException("not a webhook secret", nameof(secret));
        var ts = at.ToUnixTimeSeconds();
        return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [StandardWebhooks.IdHeader] = messageId,
            [StandardWebhooks.TimestampHeader] = ts.ToString(CultureInfo.InvariantCulture),
            [StandardWebhooks.SignatureHeaderName] = StandardWebhooks.Sign(key, messageId, ts, Encoding.UTF8.GetBytes(body)),
        };
    }

    public async Task<Result<ProviderEvent>> ReadAsync(IStoreSession s, Tenant tenant, ProviderDelivery delivery, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (tenant.Livemode) return new KassaError(ErrorCodes.TestModeOnly, "The sandbox provider sends test mode events only; use livemode=false");
        var id = delivery.Header(StandardWebhooks.IdHeader);
        var timestamp = delivery.Header(StandardWebhooks.TimestampHeader);
        var signature = delivery.Header(StandardWebhooks.SignatureHeaderName);
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
            return Invalid("The webhook-id, webhook-timestamp and webhook-signature headers are required");
        WebhookSecret.TryParse(await SecretAsync(s, tenant), out var key);
        var verified = StandardWebhooks.Verify(key, id, timestamp, signature, Encoding.UTF8.GetBytes(delivery.Body), now);
        switch (verified)
        {
            case WebhookVerifyResult.Valid: break;
            case WebhookVerifyResult.TimestampTooOld: return Invalid("The webhook-timestamp is more than 5 minutes old");
            case WebhookVerifyResult.TimestampInFuture: return Invalid("The webhook-timestamp is more than 5 minutes in the future");
            case WebhookVerifyResult.Malformed: return Invalid("A webhook header is malformed");
            default: return Invalid("No webhook-signature matches this tenant's sandbox webhook secret");
        }
        return Parse(delivery.Body, now);
    }

    private static KassaError Invalid(string message) => new(ErrorCodes.SignatureInvalid, message, "webhook-signature");

    /// <summary>Reads a verified body into a normalized event; a body that does not fit the shape is a 400 naming the field.</summary>
    public static Result<ProviderEvent> Parse(string body, DateTimeOffset now)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            return new KassaError(ErrorCodes.MalformedJson, "The event body is not valid JSON");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return KassaError.Validation("body", "must be a JSON object");
            var reader = new Fields(root, "");
            var id = reader.Text("id");
            var type = reader.Text("type");
            var created = reader.Long("created", optional: true);
            var livemode = reader.Bool("livemode");
            if (reader.Error is { } e1) return e1;
            if (created is < 0 or > StandardWebhooks.TimestampSecondsMax) return KassaError.Validation("created", "must be unix seconds");
            var when = created is { } c ? DateTimeOffset.FromUnixTimeSeconds(c) : now;
            ProviderEffect? effect = null;
            if (type is ChargeSucceededType or ChargeFailedType or ChargeRefundedType or MethodAttachedType or MethodDetachedType or CheckoutCompletedType
                or DisputeChangedType)
            {
                if (!root.TryGetProperty("data", out var dataElement) || dataElement.ValueKind != JsonValueKind.Object) return KassaError.Missing("data");
                var d = new Fields(dataElement, "data.");
                effect = type switch
                {
                    ChargeSucceededType => new ChargeSucceeded(d.Text("provider_charge_id")!, d.Text("payment_id", optional: true), d.Amount("amount"), d.Currency("currency")),
                    ChargeFailedType => new ChargeFailed(d.Text("provider_charge_id")!, d.Text("payment_id", optional: true), d.Text("failure_code")!, d.Text("failure_message")!),
                    ChargeRefundedType => new ChargeRefunded(d.Text("provider_charge_id")!, d.Text("provider_refund_id")!, d.Text("refund_id", optional: true),
                        d.Amount("amount"), d.Currency("currency")),
                    MethodAttachedType => new MethodAttached(d.Text("customer_id", optional: true), d.Text("provider_customer_id")!, d.Text("method_token")!, d.Card("card")!),
                    MethodDetachedType => new MethodDetached(d.Text("method_token")!),
                    CheckoutCompletedType => new CheckoutCompleted(d.Text("provider_session_id")!, d.Text("checkout_session_id", optional: true),
                        d.Text("method_token", optional: true), d.Card("card", optional: true), d.Text("provider_charge_id", optional: true), d.ChargeStatus("charge_status")),
                    _ => new DisputeChanged(d.Text("provider_dispute_id")!, d.Text("provider_charge_id")!, d.Amount("amount"), d.Currency("currency"),
                        d.Text("reason")!, d.Text("status")!),
                };
                if (d.Error is { } e2) return e2;
            }
            return new ProviderEvent(id!, type!, livemode ?? false, when, effect);
        }
    }

    /// <summary>Reads fields of one JSON object, keeping the first problem (named with its path) instead of throwing.</summary>
    private sealed class Fields(JsonElement obj, string path)
    {
        public KassaError? Error { get; private set; }

        private bool TryGet(string name, bool optional, out JsonElement value)
        {
            value = default;
            if (obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
            if (!optional) Fail(KassaError.Missing(path + name));
            return false;
        }

        private void Fail(KassaError error) => Error ??= error;

        public string? Text(string name, bool optional = false)
        {
            if (!TryGet(name, optional, out var v)) return null;
            if (v.ValueKind != JsonValueKind.String || v.GetString() is not { Length: > 0 and <= TextLengthMax } text)
            {
                Fail(KassaError.Validation(path + name, $"must be a string of 1 to {TextLengthMax} characters"));
                return null;
            }
            return text;
        }

        public long? Long(string name, bool optional = false)
        {
            if (!TryGet(name, optional, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n))
            {
                Fail(KassaError.Validation(path + name, "must be a whole number"));
                return null;
            }
            return n;
        }

        public bool? Bool(string name)
        {
            if (!TryGet(name, optional: true, out var v)) return null;
            if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Fail(KassaError.Validation(path + name, "must be true or false"));
                return null;
            }
            return v.GetBoolean();
        }

        public long Amount(string name)
        {
            var n = Long(name);
            if (n is <= 0 or > 1_000_000_000_000L) Fail(KassaError.Validation(path + name, "must be a positive amount in minor units, at most 10^12"));
            return n ?? 0;
        }

        public string Currency(string name)
        {
            var c = Text(name);
            if (c is not null && (c.Length != 3 || !c.All(char.IsAsciiLetterLower))) Fail(KassaError.Validation(path + name, "must be a three-letter lowercase ISO 4217 code"));
            return c ?? "";
        }

        public CardSummary? Card(string name, bool optional = false)
        {
            if (!TryGet(name, optional, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Object)
            {
                Fail(KassaError.Validation(path + name, "must be an object"));
                return null;
            }
            var f = new Fields(v, path + name + ".");
            var brand = f.Text("brand");
            var last4 = f.Text("last4");
            var month = f.Long("exp_month");
            var year = f.Long("exp_year");
            if (f.Error is { } e)
            {
                Fail(e);
                return null;
            }
            if (!Enum.TryParse<CardBrand>(brand, ignoreCase: true, out var b) || !Enum.IsDefined(b) || int.TryParse(brand, out _))
                Fail(KassaError.Validation(path + name + ".brand", "must be visa, mastercard, amex, discover or unknown"));
            else if (last4!.Length != 4 || !last4.All(char.IsAsciiDigit)) Fail(KassaError.Validation(path + name + ".last4", "must be 4 digits"));
            else if (month is < 1 or > 12) Fail(KassaError.Validation(path + name + ".exp_month", "must be 1 to 12"));
            else if (year is < 2000 or > 9999) Fail(KassaError.Validation(path + name + ".exp_year", "must be a four-digit year"));
            else return new CardSummary(b, last4, (int)month!.Value, (int)year!.Value);
            return null;
        }

        public ChargeStatus? ChargeStatus(string name)
        {
            var t = Text(name, optional: true);
            switch (t)
            {
                case null: return null;
                case "succeeded": return Payments.ChargeStatus.Succeeded;
                case "failed": return Payments.ChargeStatus.Failed;
                case "requires_action": return Payments.ChargeStatus.RequiresAction;
                default:
                    Fail(KassaError.Validation(path + name, "must be succeeded, failed or requires_action"));
                    return null;
            }
        }
    }
}
