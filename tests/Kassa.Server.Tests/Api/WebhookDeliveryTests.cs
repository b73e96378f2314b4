using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// Webhook delivery end to end: the server's worker sends to a receiver on 127.0.0.1. Retries are
/// brought forward by moving the server's clock. Runs on both engines.
/// </summary>
public abstract class WebhookDeliveryTests(KassaHost host)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private async Task<(string Id, string Secret)> Endpoint(WebhookReceiver receiver, params string[] events)
    {
        var r = await host.Client().Post("/v1/webhook_endpoints", new { url = receiver.Url, events = events.Length == 0 ? ["*"] : events });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        return ((string)r.Body!["id"]!, (string)r.Body!["secret"]!);
    }

    /// <summary>Standard Webhooks verification written from the specification, independent of Kassa's own code.</summary>
    private static bool Verifies(string secret, WebhookReceiver.Received r)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var signed = Encoding.UTF8.GetBytes($"{r.Id}.{r.Timestamp}.").Concat(r.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        return r.Signature.Split(' ').Contains(expected);
    }

    [Fact]
    public async Task Deliveries_carry_standard_webhooks_headers_that_verify_independently()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (_, secret) = await Endpoint(receiver, "customer.created");
        var id = Wire.NewId();
        var created = await host.Client().Put($"/v1/customers/{id}", new { name = "Signed" });
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == 1, Patience);

        var r = receiver.Requests.Single();
        var evt = JsonNode.Parse(r.Text)!;
        Assert.Equal("customer.created", (string?)evt["type"]);
        Assert.Equal(r.Id, (string?)evt["id"]);
        Assert.Equal(created.Body!.ToJsonString(), evt["data"]!["object"]!.ToJsonString());
        Assert.True(Math.Abs(long.Parse(r.Timestamp) - host.Clock.GetUtcNow().ToUnixTimeSeconds()) < 30);
        Assert.True(Verifies(secret, r), "the signature must verify with the endpoint's secret");
        Assert.False(Verifies("whsec_" + Convert.ToBase64String(new byte[32]), r));
        Assert.Equal(WebhookVerifyResultValid, Kassa.Core.Webhooks.StandardWebhooks.Verify(secret, r.Id, r.Timestamp, r.Signature, r.Body, host.Clock.GetUtcNow()));
    }

    private const Kassa.Core.Webhooks.WebhookVerifyResult WebhookVerifyResultValid = Kassa.Core.Webhooks.WebhookVerifyResult.Valid;

    [Fact]
    public async Task A_receiver_failing_30_percent_gets_every_event_in_order_per_object()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var random = new Random(7);
        receiver.Respond = _ => random.NextDouble() < 0.3 ? new WebhookReceiver.Answer(random.Next(2) == 0 ? 500 : 503) : new WebhookReceiver.Answer(204);
        var (_, secret) = await Endpoint(receiver, "customer.created", "customer.updated");
        const int customers = 8, updates = 5;
        var ids = Enumerable.Range(0, customers).Select(_ => Wire.NewId()).ToList();
        foreach (var id in ids)
        {
            await host.Client().Put($"/v1/customers/{id}", new { name = "v0" });
            for (var v = 1; v <= updates; v++) await host.Client().Patch($"/v1/customers/{id}", new { name = $"v{v}" });
        }
        var expected = customers * (updates + 1);
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == expected, Patience, advanceEachStep: TimeSpan.FromHours(2));

        Assert.Contains(receiver.Requests, r => r.Status >= 500);
        Assert.All(receiver.Requests, r => Assert.True(Verifies(secret, r)));
        // Order per object: the first successful delivery of each version arrives in version order.
        foreach (var id in ids)
        {
            var versions = receiver.Requests.Where(r => r.Status == 204).Select(r => JsonNode.Parse(r.Text)!)
                .Where(e => (string?)e["data"]!["object"]!["id"] == id).Select(e => (string)e["data"]!["object"]!["name"]!)
                .Distinct().ToList();
            Assert.Equal(Enumerable.Range(0, updates + 1).Select(v => $"v{v}"), versions);
        }
        // Each attempt is listed with its status.
        var endpointId = (string)(await host.Client().Get("/v1/webhook_endpoints?limit=1")).Body!["data"]![0]!["id"]!;
        var attempts = (await host.Client().Get($"/v1/webhook_endpoints/{endpointId}/deliveries?limit=100")).Body!["data"]!.AsArray();
        Assert.Contains(attempts, a => (int?)a!["status_code"] >= 500 && !(bool)a["succeeded"]! && a["next_retry_at"] is not null);
        Assert.Contains(attempts, a => (int?)a!["status_code"] == 204 && (bool)a["succeeded"]!);
    }

    [Fact]
    public async Task A_410_disables_the_endpoint_and_emits_an_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => new WebhookReceiver.Answer(410);
        var (endpointId, _) = await Endpoint(receiver, "customer.created");
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Gone" });
        await WebhookHostSettings.WaitUntil(host, () => receiver.Requests.Count == 1, Patience);
        JsonNode? endpoint = null;
        await WebhookHostSettings.WaitUntil(host, () =>
        {
            endpoint = host.Client().Get($"/v1/webhook_endpoints/{endpointId}").Result.Body;
            return (string?)endpoint!["status"] == "disabled";
        }, Patience);
        Assert.Equal("endpoint_gone", (string?)endpoint!["disabled_reason"]);
        var events = (await host.Client().Get($"/v1/events?object_id={endpointId}")).Body!["data"]!.AsArray();
        Assert.Equal("webhook_endpoint.disabled", (string?)events.Single()!["type"]);
        // Nothing more is sent to a disabled endpoint.
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "After" });
        await Task.Delay(500);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task Redirects_are_not_followed_and_retry_after_is_honoured()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var calls = 0;
        receiver.Respond = _ => ++calls switch
        {
            1 => new WebhookReceiver.Answer(302, Location: receiver.Url.Replace("/hook", "/elsewhere")),
            2 => new WebhookReceiver.Answer(429, RetryAfter: "7200"),
            _ => new WebhookReceiver.Answer(200),
        };
        var (endpointId, _) = await Endpoint(receiver, "customer.created");
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Moved" });
        // The clock jumps once to just past each recorded retry time and then stands still: moving it on while
        // an attempt is in flight would run past its 5 s lease (in clock time) and send it again, which is the
        // test's doing, not a duplicate delivery (seen under the full suite's load). The worker polls in real time.
        await JumpPastNextRetry(endpointId, attempts: 1);
        await WebhookHostSettings.WaitUntil(host, () => receiver.Requests.Count >= 2, Patience);
        var afterSecond = host.Clock.GetUtcNow();
        var attempts = await Attempts(endpointId, atLeast: 2);
        var limited = attempts.Single(a => (int?)a!["status_code"] == 429)!;
        var nextRetry = DateTimeOffset.Parse((string)limited["next_retry_at"]!);
        // 429 asks for two hours, longer than the 5 min schedule.
        Assert.InRange(nextRetry - afterSecond, TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(135));
        Assert.Equal(302, (int?)attempts.Single(a => (int?)a!["attempt"] == 1)!["status_code"]);
        Assert.DoesNotContain(receiver.Requests, r => r.Id == "redirected");
        await JumpPastNextRetry(endpointId, attempts: 2);
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == 1, Patience);
        await Task.Delay(300);
        Assert.Equal(3, receiver.Requests.Count);
    }

    /// <summary>The endpoint's delivery attempts, once there are at least <paramref name="atLeast"/> (the clock still).</summary>
    private async Task<JsonArray> Attempts(string endpointId, int atLeast)
    {
        JsonArray list = [];
        await WebhookHostSettings.WaitUntil(host, () =>
        {
            list = host.Client().Get($"/v1/webhook_endpoints/{endpointId}/deliveries").Result.Body!["data"]!.AsArray();
            return list.Count >= atLeast;
        }, Patience);
        return list;
    }

    /// <summary>Once <paramref name="attempts"/> attempts are recorded, moves the clock once to a second past the latest next_retry_at.</summary>
    private async Task JumpPastNextRetry(string endpointId, int attempts)
    {
        var list = await Attempts(endpointId, attempts);
        var next = list.Select(a => (string?)a!["next_retry_at"]).Where(t => t is not null).Select(t => DateTimeOffset.Parse(t!)).Max();
        var now = host.Clock.GetUtcNow();
        if (next > now) host.Clock.Advance(next - now + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task After_rotation_deliveries_verify_with_the_old_and_the_new_secret_for_a_day()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (endpointId, oldSecret) = await Endpoint(receiver, "customer.created");
        var newSecret = (string)(await host.Client().Post($"/v1/webhook_endpoints/{endpointId}/rotate_secret")).Body!["secret"]!;
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Rotated" });
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == 1, Patience);
        var first = receiver.Requests.Single();
        Assert.Equal(2, first.Signature.Split(' ').Length);
        Assert.True(Verifies(oldSecret, first));
        Assert.True(Verifies(newSecret, first));

        host.Clock.Advance(TimeSpan.FromHours(25));
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Later" });
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == 2, Patience);
        var second = receiver.Requests.Last();
        Assert.Single(second.Signature.Split(' '));
        Assert.True(Verifies(newSecret, second));
        Assert.False(Verifies(oldSecret, second));
    }

    [Fact]
    public async Task Resend_delivers_an_event_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (endpointId, _) = await Endpoint(receiver, "customer.created");
        var id = Wire.NewId();
        await host.Client().Put($"/v1/customers/{id}", new { name = "Again" });
        await WebhookHostSettings.WaitUntil(host, () => receiver.Requests.Count == 1, Patience);
        var eventId = receiver.Requests.Single().Id;
        (await host.Client().Post($"/v1/events/{eventId}/resend", new { endpoint_id = "we_nope" })).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var resent = await host.Client().Post($"/v1/events/{eventId}/resend", new { endpoint_id = endpointId });
        Assert.Equal(1, (int)resent.Body!["queued"]!);
        await WebhookHostSettings.WaitUntil(host, () => receiver.Requests.Count == 2, Patience);
        Assert.Equal([eventId, eventId], receiver.Requests.Select(r => r.Id).ToArray());
    }

    [Fact]
    public async Task An_endpoint_failing_for_three_days_is_disabled()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => new WebhookReceiver.Answer(500);
        var (endpointId, _) = await Endpoint(receiver, "customer.created");
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Down" });
        // Wait until the worker has recorded the failure (the receiver sees the request before that):
        // the failure streak must start before the clock jumps.
        await WebhookHostSettings.WaitUntil(host, () =>
            host.Client().Get($"/v1/webhook_endpoints/{endpointId}/deliveries").Result.Body!["data"]!.AsArray().Count >= 1, Patience);
        host.Clock.Advance(TimeSpan.FromDays(3) + TimeSpan.FromMinutes(1));
        await host.Client().Put($"/v1/customers/{Wire.NewId()}", new { name = "Still down" });
        JsonNode? endpoint = null;
        await WebhookHostSettings.WaitUntil(host, () =>
        {
            endpoint = host.Client().Get($"/v1/webhook_endpoints/{endpointId}").Result.Body;
            return (string?)endpoint!["status"] == "disabled";
        }, Patience);
        Assert.Equal("failing_for_3_days", (string?)endpoint!["disabled_reason"]);
    }

    [Fact]
    public async Task Two_nodes_on_one_database_deliver_each_event_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => new WebhookReceiver.Answer(200, Delay: TimeSpan.FromMilliseconds(20));
        await Endpoint(receiver, "customer.created");
        var other = await host.AnotherNodeClientAsync();
        const int count = 60;
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => (i % 2 == 0 ? host.Client() : other).Put($"/v1/customers/{Wire.NewId()}", new { name = "N" })));
        await WebhookHostSettings.WaitUntil(host, () => receiver.Delivered().Count == count, Patience);
        await Task.Delay(500);
        var delivered = receiver.Delivered();
        Assert.Equal(count, delivered.Count);
        Assert.All(delivered, d => Assert.Equal(1, d.Value));
        Assert.Equal(count, receiver.Requests.Count);
    }
}

public sealed class WebhookDeliveryTestsSqlite(SqliteWebhookHost host) : WebhookDeliveryTests(host), IClassFixture<SqliteWebhookHost>;

public sealed class WebhookDeliveryTestsPostgres(PostgresWebhookHost host) : WebhookDeliveryTests(host), IClassFixture<PostgresWebhookHost>;
