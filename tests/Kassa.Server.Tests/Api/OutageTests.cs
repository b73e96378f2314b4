using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// When the work cannot be done now — the database cannot be reached, the server is stopping, a queue is
/// full — the answer is a retryable refusal in the envelope (503 <c>unavailable</c> or 429
/// <c>overloaded</c>, with Retry-After and Request-Id), never a 500. Runs on both engines.
/// </summary>
public abstract class OutageTests(LiveHost host)
{
    private static void AssertUnavailable((HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) r)
    {
        r.AssertError(HttpStatusCode.ServiceUnavailable, "api_error", "unavailable");
        Assert.Equal("2", r.Response.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task A_database_that_cannot_be_reached_answers_503_unavailable_with_retry_after_and_the_retry_succeeds_once_it_is_back()
    {
        var client = host.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.Get("/v1/customers")).Status);
        var id = Wire.NewId();
        var key = "outage-" + Guid.NewGuid().ToString("N");
        await host.TakeDatabaseDownAsync();
        try
        {
            // A read, a mutation with an idempotency key, the balance engine and the meter ingest queue.
            AssertUnavailable(await client.Get("/v1/customers"));
            AssertUnavailable(await client.Post("/v1/customers", new { id, name = "Down" }, idempotencyKey: key));
            AssertUnavailable(await client.Post("/v1/check", new { customer_id = id, feature_id = "api_calls", required_balance = 1 }));
            AssertUnavailable(await client.Post("/v1/meter_events", new { id = Wire.NewId("ev"), event_name = "outage.test", customer_id = id }));
            // An unknown key cannot be looked up either: that is not the client's fault, so not a 401.
            AssertUnavailable(await host.Client("sk_test_unknownunknownunknownunknown1").Get("/v1/customers"));
        }
        finally
        {
            await host.BringDatabaseBackAsync();
        }

        // Like a client honouring Retry-After: a pooled connection broken by the outage may fail once more,
        // as 503 again, never 500; then the same request with the same key runs, once.
        (HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) created = default;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            created = await client.Post("/v1/customers", new { id, name = "Down" }, idempotencyKey: key);
            if (created.Status != HttpStatusCode.ServiceUnavailable) break;
            AssertUnavailable(created);
        }
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.False(created.Response!.Headers.Contains("Idempotent-Replayed"));
        var replay = await client.Post("/v1/customers", new { id, name = "Down" }, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Created, replay.Status);
        Assert.Equal("true", replay.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(HttpStatusCode.OK, (await client.Get($"/v1/customers/{id}")).Status);
    }

    [Fact]
    public async Task An_operation_refused_because_the_server_is_stopping_answers_503_and_frees_its_idempotency_key()
    {
        var client = host.Client();
        var key = "stopping-" + Guid.NewGuid().ToString("N");
        var runs = host.FlakyRuns;
        host.FailNextFlaky = true;
        var refused = await client.Post("/v1/test_only/flaky", idempotencyKey: key);
        AssertUnavailable(refused);
        Assert.Equal("The service is unavailable: the server is stopping; retry after the time in Retry-After", (string?)refused.Body!["error"]!["message"]);
        Assert.Equal(runs, host.FlakyRuns);

        // The 503 was not stored: the retry with the same key runs, and a second retry replays it.
        var retried = await client.Post("/v1/test_only/flaky", idempotencyKey: key);
        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal(runs + 1, host.FlakyRuns);
        var replayed = await client.Post("/v1/test_only/flaky", idempotencyKey: key);
        Assert.Equal(HttpStatusCode.OK, replayed.Status);
        Assert.Equal("true", replayed.Response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(runs + 1, host.FlakyRuns);
    }

    [Fact]
    public async Task A_full_meter_ingest_queue_answers_429_overloaded_with_retry_after_and_accepts_again_once_it_drains()
    {
        var client = host.Client();
        var customer = Wire.NewId();
        var queue = host.Services.GetRequiredService<Kassa.Engine.Metering.IngestQueue>();
        const int capacity = Kassa.Engine.Metering.IngestQueue.QueueCapacity;
        Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> Send(string suffix) =>
            client.Post("/v1/meter_events", new { id = $"ov-{customer}-{suffix}", event_name = "overload.test", customer_id = customer });
        host.Store.PauseWrites();
        var held = new List<Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)>>();
        List<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> refused;
        try
        {
            // Fill the queue: each writer loop takes what it finds into a transaction held at the door (on
            // PostgreSQL four loops, each up to 8,000 events), so how many requests the queue then holds
            // depends on when they arrived. Send in waves until the queue is full, whatever the loops took.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (queue.QueueLength < capacity && DateTime.UtcNow < deadline)
            {
                held.AddRange(Enumerable.Range(held.Count, 64).Select(i => Send(i.ToString())));
                var waveSent = DateTime.UtcNow;
                while (queue.QueueLength < capacity && held.Any(t => !t.IsCompleted) && DateTime.UtcNow < waveSent.AddMilliseconds(200))
                    await Task.Delay(10);
            }
            Assert.Equal(capacity, queue.QueueLength);
            // Requests that overflowed while filling were answered already; every request now is refused at once.
            refused = [.. await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Send($"over-{i}")))];
        }
        finally
        {
            host.Store.ResumeWrites();
        }
        var answers = (await Task.WhenAll(held)).Concat(refused).ToList();
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.TooManyRequests, r.Status));
        var overloaded = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(overloaded);
        foreach (var r in overloaded)
        {
            r.AssertError(HttpStatusCode.TooManyRequests, "rate_limit_error", "overloaded");
            Assert.Equal("1", r.Response.Headers.GetValues("Retry-After").Single());
        }
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.TooManyRequests), a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        Assert.Equal(HttpStatusCode.Accepted, (await client.Post("/v1/meter_events", new { id = $"ov-{customer}-after", event_name = "overload.test", customer_id = customer })).Status);
    }
}

public sealed class OutageTestsSqlite(SqliteLiveHost host) : OutageTests(host), IClassFixture<SqliteLiveHost>;

public sealed class OutageTestsPostgres(PostgresLiveHost host) : OutageTests(host), IClassFixture<PostgresLiveHost>;
