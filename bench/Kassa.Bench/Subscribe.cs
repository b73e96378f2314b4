using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kassa.Bench;

/// <summary>
/// Paid subscribe (spec §4, issue 12 item 9): <c>POST /v1/subscribe</c> of a product with a recurring
/// price for a customer with a saved sandbox card, which writes the subscription, finalizes, numbers and
/// posts the first invoice, writes the payment attempt, charges the card and activates the subscription.
/// A customer can hold the product only once (a second subscribe of the same product is a quantity change,
/// not a new subscription), so every request, warm-up included, takes a customer of its own from a pool
/// the setup creates, each with a card. The pool is sized from the run's time and workers; a run that
/// uses it up stops with exit code 3 instead of reporting figures of requests that did no billing.
/// </summary>
internal static class SubscribeScenario
{
    public const string TargetName = "subscribe_paid";

    private const string FeatureId = "bench_sub_calls";
    private const string ProductId = "bench_paid";

    // 20.00 a month in minor units: a plain monthly fee, so the first invoice is one recurring line.
    private const long MonthlyFee = 2000;

    // Every customer costs two setup requests (customer, card). A million would take an hour to create
    // on the development machine; 200,000 covers the default rate for over 6 minutes.
    public const int MaxPool = 200_000;

    // The sandbox card that always succeeds (docs/payments.md); the expiry only has to be in the future.
    private const string CardBody = "\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2040,\"cvc\":\"123\"}";

    // The top-level statuses POST /v1/subscribe can answer (Subscribe.ResultStatuses plus incomplete),
    // named in the error breakdown; anything else is counted as "other" so the kinds stay bounded.
    private static readonly string[] KnownStatuses =
        ["trialing", "past_due", "scheduled", "requires_checkout", "requires_action", "incomplete"];

    /// <summary>
    /// Customers the run may need: warm-up and window at <paramref name="rate"/> subscribes a second, plus
    /// one in flight per worker at either end. The pool is this, capped at <see cref="MaxPool"/>.
    /// </summary>
    public static long Needed(int rate, TimeSpan warmup, TimeSpan duration, int workers) =>
        (long)Math.Ceiling(rate * (warmup + duration).TotalSeconds) + 2L * workers;

    public static Scenario Create(ScenarioSettings settings)
    {
        var endpoint = settings.Endpoint;
        var rate = settings.SubscribeRate;
        var needed = Needed(rate, settings.Warmup, settings.Duration, settings.Workers);
        var pool = (int)Math.Min(MaxPool, needed);

        // Ids carry the run's start second: a second run against the same database gets new customers,
        // none of which already holds the product.
        var tag = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        string Customer(int i) => string.Create(CultureInfo.InvariantCulture, $"bench_sub_{tag}_{i}");

        async Task Setup(ISetupDriver driver, CancellationToken cancel)
        {
            if (needed > pool)
            {
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[setup] warning: {needed} customers would cover {rate}/s for warm-up + duration, capped at {MaxPool}; a server faster than {(pool - 2L * settings.Workers) / (settings.Warmup + settings.Duration).TotalSeconds:0}/s will run out"));
            }

            // The feature and product are prerequisites: without them every subscribe fails. 409 means an
            // earlier run against the same database created them already with the same bodies.
            await Scenarios.Prerequisite(
                driver,
                new Batch(
                    "create_feature",
                    1,
                    Authenticated: true,
                    _ => Scenarios.Json(
                        HttpMethod.Post,
                        endpoint.For("/v1/features"),
                        $$"""{"id":"{{FeatureId}}","name":"Bench paid calls","type":"metered"}"""),
                    new StatusSet(201, 409)),
                cancel);

            // Not auto_enable: the customers must start without a subscription, so the subscribe is a new one.
            await Scenarios.Prerequisite(
                driver,
                new Batch(
                    "create_product",
                    1,
                    Authenticated: true,
                    _ => Scenarios.Json(
                        HttpMethod.Post,
                        endpoint.For("/v1/products"),
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $$"""{"id":"{{ProductId}}","name":"Bench paid","prices":[{"type":"recurring","amount":{{MonthlyFee}},"currency":"usd","interval":"month","interval_count":1}],"features":[{"feature_id":"{{FeatureId}}","included":1000,"reset":"month","overage":"blocked"}]}""")),
                    new StatusSet(201, 409)),
                cancel);

            // A customer missing from the pool would turn one measured request into an error, so any
            // failure stops the run. PUT is idempotent, so a transient failure may be sent again.
            await Scenarios.Prerequisite(
                driver,
                new Batch(
                    "create_customers",
                    pool,
                    Authenticated: true,
                    i => Scenarios.Json(
                        HttpMethod.Put,
                        endpoint.For("/v1/customers/" + Customer(i)),
                        string.Create(CultureInfo.InvariantCulture, $$"""{"name":"Bench subscriber {{i}}"}""")),
                    new StatusSet(201))
                { Retries = 2 },
                cancel);

            // The customer's first method becomes its default, which subscribe charges. A retry after a
            // transient failure could attach a second card; the first stays the default, so that is harmless.
            await Scenarios.Prerequisite(
                driver,
                new Batch(
                    "attach_cards",
                    pool,
                    Authenticated: true,
                    i => Scenarios.Json(
                        HttpMethod.Post,
                        endpoint.For("/v1/payment_methods"),
                        $$"""{"customer_id":"{{Customer(i)}}",{{CardBody}}}"""),
                    new StatusSet(201))
                { Retries = 2 },
                cancel);
        }

        // Shared by all workers: each request takes the next customer, warm-up included.
        var next = -1;
        var exhausted = 0;
        var uri = endpoint.For("/v1/subscribe");
        var missing = Encoding.UTF8.GetBytes($$"""{"customer_id":"bench_sub_{{tag}}_pool_exhausted","product_id":"{{ProductId}}"}""");

        HttpRequestMessage Build(int worker, Random random)
        {
            var i = Interlocked.Increment(ref next);
            if (i >= pool || i < 0)
            {
                // The pool is used up: this customer does not exist, so the answer (404) is an error, and
                // the run stops after the phase (see After). One line says why, the first time.
                if (Interlocked.Exchange(ref exhausted, 1) == 0)
                {
                    Console.Error.WriteLine($"kassa-bench: {TargetName} used all {pool} customers of the pool; the rest of the phase sends requests that fail");
                }

                return Scenarios.Json(HttpMethod.Post, uri, missing);
            }

            return Scenarios.Json(HttpMethod.Post, uri, $$"""{"customer_id":"{{Customer(i)}}","product_id":"{{ProductId}}"}""");
        }

        var target = new Target(TargetName, Authenticated: true, Build, new StatusSet(200))
        {
            Check = CheckActive,
            State = () => [new("customer_pool", pool)],
            After = () => Volatile.Read(ref exhausted) == 0
                ? null
                : string.Create(
                    CultureInfo.InvariantCulture,
                    $"{TargetName} ran out of fresh customers ({pool} in the pool, sized for {rate}/s over warm-up + duration, at most {MaxPool}); its figures include failed requests. Raise --subscribe-rate or shorten --duration."),
        };

        return new Scenario("subscribe", Setup, [target]);
    }

    /// <summary>
    /// Null when the answer's top-level <c>status</c> is <c>active</c>: the invoice was paid and the
    /// subscription activated. Otherwise the error kind (<c>body status requires_action</c>, …). Only the
    /// top level is read: the nested subscription and invoice have a <c>status</c> of their own.
    /// </summary>
    internal static string? CheckActive(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "body unreadable";
            }

            // Bounded by the body: every Read consumes at least one token.
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                {
                    break;
                }

                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("status"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                    {
                        return "body status not a string";
                    }

                    if (reader.ValueTextEquals("active"u8))
                    {
                        return null;
                    }

                    foreach (var known in KnownStatuses)
                    {
                        if (reader.ValueTextEquals(known))
                        {
                            return "body status " + known;
                        }
                    }

                    return "body status other";
                }

                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }

            return "body status missing";
        }
        catch (JsonException)
        {
            return "body unreadable";
        }
    }
}
