using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kassa.Server.Tests.Stripe;

/// <summary>
/// A small Stripe on 127.0.0.1 (a random port) for the tests: Kestrel, in memory, answering the calls
/// Kassa makes with Stripe's documented shapes (https://docs.stripe.com/api), and checking what Stripe
/// would: the method and path, the form fields in Stripe's form encoding (<c>metadata[…]</c>, list
/// items <c>allowed_payment_method_types[0]</c>), <c>Authorization: Bearer sk_test_…</c> and the
/// <c>Idempotency-Key</c> (the same key with the same parameters replays the first answer, with
/// <c>Idempotent-Replayed: true</c>; with other parameters it is Stripe's 400 <c>idempotency_error</c>).
/// A request it does not expect answers 400 with the reason, so a test sees Kassa's mistake.
/// <para>
/// Cards are Stripe's test PaymentMethods, attached by the test (<see cref="AttachTestCard"/>) as a
/// customer's browser would with Stripe.js: <c>pm_card_visa</c> succeeds,
/// <c>pm_card_chargeDeclined</c> answers 402 <c>card_declined</c> (<c>decline_code: generic_decline</c>),
/// <c>pm_card_chargeDeclinedInsufficientFunds</c> 402 <c>card_declined</c> / <c>insufficient_funds</c>,
/// <c>pm_card_authenticationRequired</c> 402 <c>authentication_required</c> off-session. Faults:
/// <see cref="RateLimitNext"/> (429 before anything is done) and <see cref="HoldNextPaymentIntent"/> (the
/// PaymentIntent is made and its answer stored, then the response is held longer than the client waits).
/// </para>
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _behaviour = new(StringComparer.Ordinal);
    private readonly Dictionary<(string ApiKey, string Key), (string Fingerprint, int Status, string Body)> _idempotency = [];
    private readonly ConcurrentDictionary<string, int> _intentsByKey = new(StringComparer.Ordinal);
    private int _sequence;

    public FakeStripe()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        Url = _app.Urls.Single().TrimEnd('/');
    }

    public string Url { get; }

    /// <summary>The secret keys this Stripe accepts (a test adds the one it configures in Kassa).</summary>
    public ConcurrentDictionary<string, bool> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>How many of the next POST /v1/payment_intents answer 429 (nothing is created).</summary>
    public int RateLimitNext;

    /// <summary>When set, the next PaymentIntent is created and its answer stored, then held this long before it is sent.</summary>
    public TimeSpan? HoldNextPaymentIntent { get; set; }

    /// <summary>Every request: method, path, form fields, Idempotency-Key.</summary>
    public ConcurrentQueue<(string Method, string Path, Dictionary<string, string> Form, string? IdempotencyKey)> Requests { get; } = new();

    /// <summary>PaymentIntents created per Idempotency-Key: "exactly one charge" is one entry with 1.</summary>
    public IReadOnlyDictionary<string, int> PaymentIntentsByKey => _intentsByKey;

    public int PaymentIntentCount => _intentsByKey.Values.Sum();

    public JsonObject? Get(string id)
    {
        lock (_gate) return _objects.TryGetValue(id, out var o) ? (JsonObject)o.DeepClone() : null;
    }

    public IReadOnlyList<JsonObject> All(string objectType)
    {
        lock (_gate) return [.. _objects.Values.Where(o => (string?)o["object"] == objectType).Select(o => (JsonObject)o.DeepClone())];
    }

    /// <summary>
    /// Attaches one of Stripe's test PaymentMethods (<c>pm_card_visa</c>, …) to a customer, as
    /// <c>POST /v1/payment_methods/pm_card_visa/attach</c> does: a new <c>pm_…</c> is made with the card.
    /// </summary>
    public string AttachTestCard(string customerId, string testMethod)
    {
        var (brand, last4) = testMethod switch
        {
            "pm_card_visa" => ("visa", "4242"),
            "pm_card_mastercard" => ("mastercard", "4444"),
            "pm_card_chargeDeclined" => ("visa", "0002"),
            "pm_card_chargeDeclinedInsufficientFunds" => ("visa", "9995"),
            "pm_card_authenticationRequired" => ("visa", "3184"),
            _ => throw new ArgumentException($"not a Stripe test PaymentMethod: {testMethod}"),
        };
        lock (_gate)
        {
            if (!_objects.ContainsKey(customerId)) throw new ArgumentException($"No such customer: {customerId}");
            var id = NewId("pm");
            _objects[id] = new JsonObject
            {
                ["id"] = id, ["object"] = "payment_method", ["type"] = "card", ["customer"] = customerId, ["created"] = Now(), ["livemode"] = false,
                ["metadata"] = new JsonObject(),
                ["card"] = new JsonObject { ["brand"] = brand, ["last4"] = last4, ["exp_month"] = 12, ["exp_year"] = 2031, ["country"] = "US", ["funding"] = "credit" },
            };
            _behaviour[id] = testMethod;
            return id;
        }
    }

    /// <summary>
    /// What the customer does on Stripe's Checkout page, as Stripe records it: the test card is attached to
    /// the session's customer, a payment-mode session's PaymentIntent is charged (succeeded) or a setup-mode
    /// session's SetupIntent succeeds, and the session becomes <c>complete</c>. Answers the completed session,
    /// the object a <c>checkout.session.completed</c> event carries.
    /// </summary>
    public JsonObject CompleteCheckout(string checkoutSessionId, string testMethod)
    {
        string customer;
        lock (_gate) customer = (string)_objects[checkoutSessionId]["customer"]!;
        var pmId = AttachTestCard(customer, testMethod);
        lock (_gate)
        {
            var session = _objects[checkoutSessionId];
            if ((string?)session["status"] != "open") throw new InvalidOperationException($"{checkoutSessionId} is {(string?)session["status"]}");
            if ((string?)session["mode"] == "payment")
            {
                var id = NewId("pi");
                _objects[id] = new JsonObject
                {
                    ["id"] = id, ["object"] = "payment_intent", ["amount"] = (long)session["amount_total"]!, ["amount_received"] = (long)session["amount_total"]!,
                    ["currency"] = (string?)session["currency"], ["customer"] = customer, ["payment_method"] = pmId, ["payment_method_types"] = new JsonArray("card"),
                    ["confirmation_method"] = "automatic", ["capture_method"] = "automatic", ["created"] = Now(), ["livemode"] = false,
                    ["metadata"] = session["payment_intent_metadata"]!.DeepClone(), ["latest_charge"] = NewId("ch"), ["last_payment_error"] = null, ["status"] = "succeeded",
                };
                session["payment_intent"] = id;
                session["payment_status"] = "paid";
            }
            else
            {
                var id = NewId("seti");
                _objects[id] = new JsonObject
                {
                    ["id"] = id, ["object"] = "setup_intent", ["customer"] = customer, ["usage"] = "off_session", ["status"] = "succeeded",
                    ["client_secret"] = id + "_secret_" + NewId("x")[2..], ["payment_method"] = pmId, ["created"] = Now(), ["livemode"] = false, ["metadata"] = new JsonObject(),
                };
                session["setup_intent"] = id;
                session["payment_status"] = "no_payment_required";
            }
            session["status"] = "complete";
            return (JsonObject)session.DeepClone();
        }
    }

    private async Task HandleAsync(HttpContext http)
    {
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        if (http.Request.HasFormContentType)
            foreach (var (k, v) in await http.Request.ReadFormAsync()) form[k] = v.ToString();
        if (http.Request.Method == "GET") foreach (var (k, v) in http.Request.Query) form[k] = v.ToString();
        var path = http.Request.Path.Value ?? "";
        var method = http.Request.Method;
        var key = http.Request.Headers["Idempotency-Key"].FirstOrDefault();
        Requests.Enqueue((method, path, form, key));

        var auth = http.Request.Headers.Authorization.FirstOrDefault() ?? "";
        var apiKey = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : "";
        if (!apiKey.StartsWith("sk_test_", StringComparison.Ordinal) || !Keys.ContainsKey(apiKey))
        {
            await Answer(http, 401, Error("invalid_request_error", null, "Invalid API Key provided: " + (apiKey.Length > 8 ? apiKey[..8] + "****" : "none")));
            return;
        }
        if (method == "POST" && path == "/v1/payment_intents" && Interlocked.Decrement(ref RateLimitNext) >= 0)
        {
            // Rate limited before anything runs: Stripe stores no idempotent result for it.
            await Answer(http, 429, Error("invalid_request_error", "rate_limit", "Request rate limit exceeded."));
            return;
        }

        int status;
        JsonObject body;
        if (method == "POST" && key is not null)
        {
            var fingerprint = method + " " + path + "?" + string.Join("&", form.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));
            lock (_gate)
            {
                if (_idempotency.TryGetValue((apiKey, key), out var earlier))
                {
                    if (earlier.Fingerprint != fingerprint)
                    {
                        (status, body) = (400, Error("idempotency_error", null,
                            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."));
                    }
                    else
                    {
                        http.Response.Headers["Idempotent-Replayed"] = "true";
                        (status, body) = (earlier.Status, (JsonObject)JsonNode.Parse(earlier.Body)!);
                    }
                    key = null;
                }
                else
                {
                    (status, body) = Execute(method, path, form, key);
                    _idempotency[(apiKey, key)] = (fingerprint, status, body.ToJsonString());
                }
            }
        }
        else
        {
            lock (_gate) (status, body) = Execute(method, path, form, key);
        }

        if (key is not null && method == "POST" && path == "/v1/payment_intents" && HoldNextPaymentIntent is { } hold)
        {
            HoldNextPaymentIntent = null;
            try
            {
                // The PaymentIntent exists and its answer is stored; the client gives up before it arrives.
                await Task.Delay(hold, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        await Answer(http, status, body);
    }

    /// <summary>One call, under the lock. Answers Stripe's status and body.</summary>
    private (int, JsonObject) Execute(string method, string path, Dictionary<string, string> form, string? key)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return (method, parts) switch
        {
            ("POST", ["v1", "customers"]) => CreateCustomer(form),
            ("GET", ["v1", "refunds"]) => ListRefunds(form),
            ("POST", ["v1", "payment_intents"]) => CreatePaymentIntent(form, key),
            ("GET", ["v1", "payment_intents", var id]) => Read(id, "payment_intent"),
            ("GET", ["v1", "payment_methods", var id]) => Read(id, "payment_method"),
            ("GET", ["v1", "setup_intents", var id]) => Read(id, "setup_intent"),
            ("POST", ["v1", "refunds"]) => CreateRefund(form),
            ("POST", ["v1", "setup_intents"]) => CreateSetupIntent(form),
            ("POST", ["v1", "checkout", "sessions"]) => CreateCheckoutSession(form),
            _ => (404, Error("invalid_request_error", "resource_missing", $"Unrecognized request URL ({method}: {path}).")),
        };
    }

    private (int, JsonObject) CreateCustomer(Dictionary<string, string> form)
    {
        if (Unexpected(form, ["name", "email", "metadata[kassa_customer_id]", "metadata[kassa_account_id]"], ["metadata[kassa_customer_id]"]) is { } bad) return bad;
        var id = NewId("cus");
        _objects[id] = new JsonObject
        {
            ["id"] = id, ["object"] = "customer", ["created"] = Now(), ["livemode"] = false, ["name"] = Opt(form, "name"), ["email"] = Opt(form, "email"),
            ["metadata"] = Metadata(form, "metadata"),
        };
        return (200, (JsonObject)_objects[id].DeepClone());
    }

    private (int, JsonObject) CreatePaymentIntent(Dictionary<string, string> form, string? key)
    {
        if (Unexpected(form, ["amount", "currency", "customer", "payment_method", "confirm", "off_session", "allowed_payment_method_types[0]",
                "metadata[kassa_payment_id]", "metadata[kassa_account_id]"],
                ["amount", "currency", "customer", "payment_method", "confirm", "off_session", "allowed_payment_method_types[0]", "metadata[kassa_payment_id]"]) is { } bad)
            return bad;
        if (form["confirm"] != "true" || form["off_session"] != "true" || form["allowed_payment_method_types[0]"] != "card")
            return (400, Error("invalid_request_error", "parameter_invalid", "Kassa must confirm off-session card charges"));
        if (!long.TryParse(form["amount"], out var amount) || amount < 1) return (400, Error("invalid_request_error", "parameter_invalid_integer", "Invalid integer: amount", "amount"));
        if (key is null) return (400, Error("invalid_request_error", null, "The fake requires an Idempotency-Key on every PaymentIntent (Kassa always sends its attempt id)"));
        var pmId = form["payment_method"];
        if (!_objects.TryGetValue(pmId, out var pm) || (string?)pm["customer"] != form["customer"])
            return (400, Error("invalid_request_error", "resource_missing", $"No such PaymentMethod: '{pmId}'", "payment_method"));
        _intentsByKey.AddOrUpdate(key, 1, (_, n) => n + 1);
        var id = NewId("pi");
        var intent = new JsonObject
        {
            ["id"] = id, ["object"] = "payment_intent", ["amount"] = amount, ["amount_received"] = 0, ["currency"] = form["currency"], ["customer"] = form["customer"],
            ["payment_method"] = pmId, ["payment_method_types"] = new JsonArray("card"), ["confirmation_method"] = "automatic", ["capture_method"] = "automatic",
            ["created"] = Now(), ["livemode"] = false, ["metadata"] = Metadata(form, "metadata"), ["latest_charge"] = null, ["last_payment_error"] = null,
            ["status"] = "requires_payment_method",
        };
        JsonObject? error = null;
        switch (_behaviour[pmId])
        {
            case "pm_card_visa" or "pm_card_mastercard":
                intent["status"] = "succeeded";
                intent["amount_received"] = amount;
                intent["latest_charge"] = NewId("ch");
                break;
            case "pm_card_chargeDeclined":
                error = CardError("card_declined", "generic_decline", "Your card was declined.");
                break;
            case "pm_card_chargeDeclinedInsufficientFunds":
                error = CardError("card_declined", "insufficient_funds", "Your card has insufficient funds.");
                break;
            case "pm_card_authenticationRequired":
                // Off-session, a card that needs 3-D Secure is refused with authentication_required and the
                // PaymentIntent waits for a payment method the customer authenticates (Stripe's documented behaviour).
                error = CardError("authentication_required", "authentication_required",
                    "Your card was declined. This transaction requires authentication.");
                break;
        }
        if (error is not null) intent["last_payment_error"] = error.DeepClone();
        _objects[id] = intent;
        if (error is null) return (200, (JsonObject)intent.DeepClone());
        error["payment_intent"] = intent.DeepClone();
        error["payment_method"] = pm.DeepClone();
        return (402, new JsonObject { ["error"] = error });
    }

    private (int, JsonObject) CreateRefund(Dictionary<string, string> form)
    {
        if (Unexpected(form, ["payment_intent", "amount", "metadata[kassa_refund_id]"], ["payment_intent", "amount", "metadata[kassa_refund_id]"]) is { } bad) return bad;
        if (!_objects.TryGetValue(form["payment_intent"], out var intent) || (string?)intent["status"] != "succeeded")
            return (400, Error("invalid_request_error", "resource_missing", $"No such payment_intent: '{form["payment_intent"]}'", "payment_intent"));
        var amount = long.Parse(form["amount"], System.Globalization.CultureInfo.InvariantCulture);
        var refunded = (long?)intent["amount_refunded_fake"] ?? 0;
        if (refunded + amount > (long)intent["amount_received"]!)
            return (400, Error("invalid_request_error", "amount_too_large", $"Refund amount (${amount / 100m}) is greater than unrefunded amount on charge", "amount"));
        intent["amount_refunded_fake"] = refunded + amount;
        var id = NewId("re");
        _objects[id] = new JsonObject
        {
            ["id"] = id, ["object"] = "refund", ["amount"] = amount, ["currency"] = intent["currency"]!.DeepClone(), ["payment_intent"] = intent["id"]!.DeepClone(),
            ["charge"] = intent["latest_charge"]!.DeepClone(), ["status"] = "succeeded", ["created"] = Now(), ["metadata"] = Metadata(form, "metadata"),
        };
        return (200, (JsonObject)_objects[id].DeepClone());
    }

    private (int, JsonObject) CreateSetupIntent(Dictionary<string, string> form)
    {
        if (Unexpected(form, ["customer", "allowed_payment_method_types[0]", "usage", "metadata[kassa_customer_id]"], ["customer", "usage"]) is { } bad) return bad;
        if (!_objects.ContainsKey(form["customer"])) return (400, Error("invalid_request_error", "resource_missing", $"No such customer: '{form["customer"]}'", "customer"));
        var id = NewId("seti");
        _objects[id] = new JsonObject
        {
            ["id"] = id, ["object"] = "setup_intent", ["customer"] = form["customer"], ["usage"] = form["usage"], ["status"] = "requires_payment_method",
            ["client_secret"] = id + "_secret_" + NewId("x")[2..], ["payment_method"] = null, ["created"] = Now(), ["livemode"] = false,
            ["metadata"] = Metadata(form, "metadata"),
        };
        return (200, (JsonObject)_objects[id].DeepClone());
    }

    private (int, JsonObject) CreateCheckoutSession(Dictionary<string, string> form)
    {
        string[] common = ["mode", "client_reference_id", "customer", "success_url", "cancel_url", "expires_at", "allowed_payment_method_types[0]",
            "metadata[kassa_checkout_session_id]", "metadata[kassa_customer_id]", "metadata[kassa_account_id]"];
        string[] payment = ["line_items[0][quantity]", "line_items[0][price_data][currency]", "line_items[0][price_data][unit_amount]",
            "line_items[0][price_data][product_data][name]", "payment_intent_data[setup_future_usage]", "payment_intent_data[metadata][kassa_checkout_session_id]",
            "payment_intent_data[metadata][kassa_customer_id]", "payment_intent_data[metadata][kassa_account_id]"];
        string[] setup = ["setup_intent_data[metadata][kassa_checkout_session_id]", "setup_intent_data[metadata][kassa_customer_id]",
            "setup_intent_data[metadata][kassa_account_id]"];
        var isPayment = form.GetValueOrDefault("mode") == "payment";
        if (Unexpected(form, [.. common, .. isPayment ? payment : setup],
                isPayment ? ["mode", "client_reference_id", "customer", "success_url", "cancel_url", "line_items[0][price_data][unit_amount]", "payment_intent_data[setup_future_usage]"]
                    : ["mode", "client_reference_id", "customer", "success_url", "cancel_url"]) is { } bad)
            return bad;
        var id = "cs_test_" + NewId("x")[2..];
        _objects[id] = new JsonObject
        {
            ["id"] = id, ["object"] = "checkout.session", ["mode"] = form["mode"], ["client_reference_id"] = form["client_reference_id"], ["customer"] = form["customer"],
            ["status"] = "open", ["payment_status"] = "unpaid", ["url"] = $"{Url}/c/pay/{id}", ["success_url"] = form["success_url"], ["cancel_url"] = form["cancel_url"],
            ["expires_at"] = long.Parse(form["expires_at"], System.Globalization.CultureInfo.InvariantCulture), ["created"] = Now(), ["livemode"] = false,
            ["metadata"] = Metadata(form, "metadata"), ["payment_intent"] = null, ["setup_intent"] = null,
            ["amount_total"] = isPayment ? long.Parse(form["line_items[0][price_data][unit_amount]"], System.Globalization.CultureInfo.InvariantCulture) : null,
            ["currency"] = isPayment ? form["line_items[0][price_data][currency]"] : null,
            // Kept to give the PaymentIntent that completing the session makes (not a field Stripe shows on a session).
            ["payment_intent_metadata"] = Metadata(form, "payment_intent_data[metadata]"),
        };
        return (200, (JsonObject)_objects[id].DeepClone());
    }

    private (int, JsonObject) Read(string id, string objectType) =>
        _objects.TryGetValue(id, out var o) && (string?)o["object"] == objectType
            ? (200, (JsonObject)o.DeepClone())
            : (404, Error("invalid_request_error", "resource_missing", $"No such {objectType}: '{id}'", "id"));

    /// <summary>A field Kassa should not send, or a required one it left out: Stripe would refuse (400 parameter_unknown / parameter_missing).</summary>
    private static (int, JsonObject)? Unexpected(Dictionary<string, string> form, string[] allowed, string[] required)
    {
        foreach (var k in form.Keys)
            if (!allowed.Contains(k)) return (400, Error("invalid_request_error", "parameter_unknown", $"Received unknown parameter: {k}", k));
        foreach (var k in required)
            if (!form.ContainsKey(k)) return (400, Error("invalid_request_error", "parameter_missing", $"Missing required param: {k}.", k));
        return null;
    }

    private static JsonObject Metadata(Dictionary<string, string> form, string prefix)
    {
        var m = new JsonObject();
        foreach (var (k, v) in form)
            if (k.StartsWith(prefix + "[", StringComparison.Ordinal) && k.EndsWith(']') && k.IndexOf('[', prefix.Length + 1) < 0)
                m[k[(prefix.Length + 1)..^1]] = v;
        return m;
    }

    private static JsonObject CardError(string code, string declineCode, string message) => new()
    {
        ["type"] = "card_error", ["code"] = code, ["decline_code"] = declineCode, ["message"] = message,
        ["doc_url"] = $"https://docs.stripe.com/error-codes/{code.Replace('_', '-')}",
    };

    private static JsonObject Error(string type, string? code, string message, string? param = null)
    {
        var e = new JsonObject { ["type"] = type, ["message"] = message };
        if (code is not null) e["code"] = code;
        if (param is not null) e["param"] = param;
        return new JsonObject { ["error"] = e };
    }

    private static async Task Answer(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers["Request-Id"] = "req_fake";
        await http.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8);
    }

    private static string? Opt(Dictionary<string, string> form, string key) => form.TryGetValue(key, out var v) ? v : null;

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private string NewId(string prefix) =>
        $"{prefix}_{Interlocked.Increment(ref _sequence):D4}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";

    /// <summary>A Stripe-Signature header as Stripe makes it: <c>t={unix},v1=HMAC-SHA256(secret, "{t}.{payload}")</c>.</summary>
    public static string Sign(string payload, string secret, DateTimeOffset at)
    {
        var t = at.ToUnixTimeSeconds();
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{payload}"));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    // Stripe-side actions a customer or the operator takes outside Kassa (3-D Secure, the dashboard), for
    // the webhook tests: each changes the fake's objects as Stripe would and answers the object Stripe's
    // event then carries.

    /// <summary>
    /// The customer completes 3-D Secure for a PaymentIntent that answered <c>authentication_required</c>:
    /// it succeeds with a charge. Answers the PaymentIntent as <c>payment_intent.succeeded</c> carries it.
    /// </summary>
    public JsonObject CompleteAuthentication(string paymentIntentId)
    {
        lock (_gate)
        {
            var intent = _objects[paymentIntentId];
            intent["status"] = "succeeded";
            intent["amount_received"] = intent["amount"]!.DeepClone();
            intent["latest_charge"] = NewId("ch");
            intent["last_payment_error"] = null;
            return (JsonObject)intent.DeepClone();
        }
    }

    /// <summary>
    /// The operator refunds <paramref name="amount"/> of a PaymentIntent in Stripe's dashboard (no Kassa
    /// metadata). Answers the refund and the Charge as <c>charge.refunded</c> carries it with today's API
    /// version: <c>amount_refunded</c> and <c>refunded</c>, but no <c>refunds</c> list (expandable only since 2022-11-15).
    /// </summary>
    public (JsonObject Refund, JsonObject Charge) RefundInDashboard(string paymentIntentId, long amount)
    {
        lock (_gate)
        {
            var intent = _objects[paymentIntentId];
            var refunded = ((long?)intent["amount_refunded_fake"] ?? 0) + amount;
            intent["amount_refunded_fake"] = refunded;
            var id = NewId("re");
            _objects[id] = new JsonObject
            {
                ["id"] = id, ["object"] = "refund", ["amount"] = amount, ["currency"] = intent["currency"]!.DeepClone(), ["payment_intent"] = paymentIntentId,
                ["charge"] = intent["latest_charge"]!.DeepClone(), ["status"] = "succeeded", ["reason"] = "requested_by_customer", ["created"] = Now(),
                ["metadata"] = new JsonObject(),
            };
            var charge = new JsonObject
            {
                ["id"] = intent["latest_charge"]!.DeepClone(), ["object"] = "charge", ["amount"] = intent["amount"]!.DeepClone(),
                ["amount_captured"] = intent["amount_received"]!.DeepClone(), ["amount_refunded"] = refunded, ["currency"] = intent["currency"]!.DeepClone(),
                ["customer"] = intent["customer"]!.DeepClone(), ["payment_intent"] = paymentIntentId, ["payment_method"] = intent["payment_method"]!.DeepClone(),
                ["captured"] = true, ["paid"] = true, ["status"] = "succeeded", ["refunded"] = refunded >= (long)intent["amount_received"]!,
                ["created"] = intent["created"]!.DeepClone(), ["livemode"] = false, ["metadata"] = new JsonObject(),
            };
            return ((JsonObject)_objects[id].DeepClone(), charge);
        }
    }

    /// <summary><c>GET /v1/refunds?charge=ch_…</c>: the charge's refunds, newest first, as Stripe lists them.</summary>
    private (int, JsonObject) ListRefunds(Dictionary<string, string> query)
    {
        if (Unexpected(query, ["charge", "payment_intent", "limit"], []) is { } bad) return bad;
        var limit = query.TryGetValue("limit", out var l) ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 10;
        if (limit is < 1 or > 100) return (400, Error("invalid_request_error", "parameter_invalid_integer", "limit must be 1 to 100", "limit"));
        var data = new JsonArray([.. _objects.Values.Where(o => (string?)o["object"] == "refund"
                && (!query.TryGetValue("charge", out var ch) || (string?)o["charge"] == ch)
                && (!query.TryGetValue("payment_intent", out var pi) || (string?)o["payment_intent"] == pi))
            .OrderByDescending(o => (long)o["created"]!).Take(limit).Select(o => o.DeepClone())]);
        return (200, new JsonObject { ["object"] = "list", ["data"] = data, ["has_more"] = false, ["url"] = "/v1/refunds" });
    }
}
