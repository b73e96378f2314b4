using System.Net;
using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>Spec §2: customers. Runs on both engines.</summary>
public abstract class CustomerTests(KassaHost host)
{
    [Fact]
    public async Task Create_with_your_id_returns_201_and_the_full_object()
    {
        var id = Wire.NewId();
        var r = await host.Client().Post("/v1/customers", new
        {
            id, email = "ada@example.com", name = "Ada Lovelace",
            address = new { line1 = "12 St James's Sq", city = "London", postal_code = "SW1Y 4JH", country = "gb" },
            metadata = new Dictionary<string, string> { ["plan"] = "pro" },
        });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        var c = r.Body!;
        Assert.Equal("customer", (string?)c["object"]);
        Assert.Equal(id, (string?)c["id"]);
        Assert.Equal("ada@example.com", (string?)c["email"]);
        Assert.Equal("Ada Lovelace", (string?)c["name"]);
        Assert.Equal("GB", (string?)c["address"]!["country"]);
        Assert.Null(c["address"]!["state"]);
        Assert.Equal("pro", (string?)c["metadata"]!["plan"]);
        Assert.Null(c["test_clock_id"]);
        Assert.False((bool)c["livemode"]!);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", (string)c["created_at"]!);
    }

    [Fact]
    public async Task Create_without_id_makes_a_time_sortable_cus_id()
    {
        var a = await host.Client().Post("/v1/customers", new { name = "A" });
        var b = await host.Client().Post("/v1/customers", new { name = "B" });
        var idA = (string)a.Body!["id"]!;
        var idB = (string)b.Body!["id"]!;
        Assert.Matches("^cus_[0-9A-HJKMNP-TV-Z]{26}$", idA);
        Assert.True(string.CompareOrdinal(idA[..14], idB[..14]) <= 0, "ids made later sort after earlier ones");
    }

    [Fact]
    public async Task Create_twice_is_409_already_exists()
    {
        var id = Wire.NewId();
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id })).Status);
        (await host.Client().Post("/v1/customers", new { id, name = "again" })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists", "id");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("ünïcødé")]
    [InlineData("")]
    public async Task Invalid_customer_id_is_400_validation_failed(string id)
    {
        var r = await host.Client().Post("/v1/customers", new { id });
        r.AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "id");
    }

    [Fact]
    public async Task Id_of_129_characters_is_refused_and_128_accepted()
    {
        (await host.Client().Post("/v1/customers", new { id = new string('x', 129) })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "id");
        var ok = "a.b:c@d-e_" + Guid.NewGuid().ToString("N") + new string('y', 128 - 42);
        Assert.Equal(128, ok.Length);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id = ok })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Get($"/v1/customers/{ok}")).Status);
    }

    [Fact]
    public async Task Metadata_limits_are_enforced()
    {
        var tooMany = Enumerable.Range(0, 51).ToDictionary(i => $"k{i}", i => "v");
        (await host.Client().Post("/v1/customers", new { metadata = tooMany })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "metadata");
        var longKey = new Dictionary<string, string> { [new string('k', 41)] = "v" };
        (await host.Client().Post("/v1/customers", new { metadata = longKey })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed");
        var longValue = new Dictionary<string, string> { ["k"] = new string('v', 501) };
        (await host.Client().Post("/v1/customers", new { metadata = longValue })).AssertError(HttpStatusCode.BadRequest, "invalid_request_error", "validation_failed", "metadata.k");
        var atLimit = Enumerable.Range(0, 50).ToDictionary(i => $"k{i:D2}" + new string('k', 37), i => new string('v', 500));
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { metadata = atLimit })).Status);
    }

    [Fact]
    public async Task Put_creates_with_201_then_answers_200_and_updates_only_given_fields()
    {
        var id = Wire.NewId();
        var first = await host.Client().Put($"/v1/customers/{id}", new { name = "Ada", email = "ada@example.com" });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var same = await host.Client().Put($"/v1/customers/{id}", new { name = "Ada", email = "ada@example.com" });
        Assert.Equal(HttpStatusCode.OK, same.Status);
        Assert.Equal((string?)first.Body!["created_at"], (string?)same.Body!["created_at"]);
        var renamed = await host.Client().Put($"/v1/customers/{id}", new { name = "Ada L." });
        Assert.Equal(HttpStatusCode.OK, renamed.Status);
        Assert.Equal("Ada L.", (string?)renamed.Body!["name"]);
        Assert.Equal("ada@example.com", (string?)renamed.Body!["email"]);

        // Only real changes are audited: one create and one update, not three events.
        var audit = await host.Client().Get($"/v1/audit_events?object_id={id}");
        var actions = audit.Body!["data"]!.AsArray().Select(e => (string)e!["action"]!).ToArray();
        Assert.Equal(["customer.updated", "customer.created"], actions);
        Assert.Equal(["name"], audit.Body!["data"]![0]!["changed_fields"]!.AsArray().Select(f => (string)f!).ToArray());
    }

    [Fact]
    public async Task Concurrent_puts_of_a_new_id_create_it_once()
    {
        var id = Wire.NewId();
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => host.Client().Put($"/v1/customers/{id}", new { name = "Racer" })));
        Assert.Equal(1, results.Count(r => r.Status == HttpStatusCode.Created));
        Assert.Equal(15, results.Count(r => r.Status == HttpStatusCode.OK));
        var audit = await host.Client().Get($"/v1/audit_events?object_id={id}");
        Assert.Single(audit.Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Concurrent_patches_of_different_fields_from_two_nodes_lose_no_update()
    {
        var other = await host.AnotherNodeClientAsync();
        for (var round = 0; round < 5; round++)
        {
            var id = Wire.NewId();
            await host.Client().Post("/v1/customers", new { id });
            var patches = Enumerable.Range(0, 16).Select(i => i % 2 == 0
                ? host.Client().Patch($"/v1/customers/{id}", new { name = $"name-{i}" })
                : other.Patch($"/v1/customers/{id}", new { email = $"e{i}@example.com" }));
            Assert.All(await Task.WhenAll(patches), r => Assert.Equal(HttpStatusCode.OK, r.Status));
            var final = (await host.Client().Get($"/v1/customers/{id}")).Body!;
            Assert.StartsWith("name-", (string?)final["name"]);
            Assert.EndsWith("@example.com", (string?)final["email"]);
        }
    }

    [Fact]
    public async Task Get_includes_empty_subscriptions_balances_and_flags()
    {
        var id = Wire.NewId();
        await host.Client().Put($"/v1/customers/{id}", new { name = "Ada" });
        var r = await host.Client().Get($"/v1/customers/{id}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Empty(r.Body!["subscriptions"]!.AsArray());
        Assert.Empty(r.Body!["balances"]!.AsObject());
        Assert.Empty(r.Body!["flags"]!.AsObject());
        Assert.Null(r.Body!["default_payment_method_id"]);
    }

    [Fact]
    public async Task Patch_sets_present_fields_and_null_clears()
    {
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id, name = "Ada", email = "ada@example.com", metadata = new { a = "1" } });
        var r = await host.Client().Send(HttpMethod.Patch, $"/v1/customers/{id}", rawBody: "{\"name\": null, \"metadata\": {\"b\": \"2\"}}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Null(r.Body!["name"]);
        Assert.Equal("ada@example.com", (string?)r.Body!["email"]);
        Assert.Equal("{\"b\":\"2\"}", r.Body!["metadata"]!.ToJsonString());
        (await host.Client().Patch("/v1/customers/nobody_" + Guid.NewGuid().ToString("N"), new { name = "x" }))
            .AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
    }

    [Fact]
    public async Task The_email_filter_follows_email_changes_and_other_updates_leave_it_alone()
    {
        // On SQLite email is written by its own statement only when it changes (customers_by_email is not
        // rewritten otherwise): every path through it must keep the filter exact.
        var id = Wire.NewId();
        var first = $"first-{Guid.NewGuid():N}@example.com";
        var second = $"second-{Guid.NewGuid():N}@example.com";
        async Task<string[]> Listed(string email) =>
            (await host.Client().Get($"/v1/customers?email={email}")).Body!["data"]!.AsArray().Select(c => (string)c!["id"]!).ToArray();

        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id, email = first })).Status);
        // Name and metadata only: still found under its email, and the update is stored.
        var renamed = await host.Client().Put($"/v1/customers/{id}", new { name = "Renamed", metadata = new { n = "1" } });
        Assert.Equal(HttpStatusCode.OK, renamed.Status);
        Assert.Equal([id], await Listed(first));
        Assert.Equal("Renamed", (string?)(await host.Client().Get($"/v1/customers/{id}")).Body!["name"]);
        // A new email: found under it only, with the other fields as they were.
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Send(HttpMethod.Patch, $"/v1/customers/{id}", rawBody: $"{{\"email\": \"{second}\"}}")).Status);
        Assert.Empty(await Listed(first));
        Assert.Equal([id], await Listed(second));
        var fetched = (await host.Client().Get($"/v1/customers/{id}")).Body!;
        Assert.Equal((second, "Renamed", "{\"n\":\"1\"}"), ((string?)fetched["email"], (string?)fetched["name"], fetched["metadata"]!.ToJsonString()));
        // Email cleared, then a metadata change: found under neither.
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Send(HttpMethod.Patch, $"/v1/customers/{id}", rawBody: "{\"email\": null}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Send(HttpMethod.Patch, $"/v1/customers/{id}", rawBody: "{\"metadata\": {\"n\": \"2\"}}")).Status);
        Assert.Empty(await Listed(first));
        Assert.Empty(await Listed(second));
        Assert.Null((string?)(await host.Client().Get($"/v1/customers/{id}")).Body!["email"]);
    }

    [Fact]
    public async Task Delete_archives_the_customer_and_its_id_is_not_reused()
    {
        var id = Wire.NewId();
        await host.Client().Post("/v1/customers", new { id, email = "gone@example.com" });
        var r = await host.Client().Delete($"/v1/customers/{id}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("{\"id\":\"" + id + "\",\"object\":\"customer\",\"deleted\":true}", r.Body!.ToJsonString());
        (await host.Client().Get($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        (await host.Client().Delete($"/v1/customers/{id}")).AssertError(HttpStatusCode.NotFound, "not_found", "resource_missing");
        var listed = await host.Client().Get("/v1/customers?email=gone@example.com");
        Assert.Empty(listed.Body!["data"]!.AsArray());
        (await host.Client().Put($"/v1/customers/{id}", new { name = "back" })).AssertError(HttpStatusCode.Conflict, "conflict", "invalid_state");
        (await host.Client().Post("/v1/customers", new { id })).AssertError(HttpStatusCode.Conflict, "conflict", "already_exists");
    }

    [Fact]
    public async Task List_pages_newest_first_without_gaps_or_repeats()
    {
        var email = $"page-{Guid.NewGuid():N}@example.com";
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var id = Wire.NewId();
            ids.Add(id);
            Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/customers", new { id, email })).Status);
            host.Clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var r = await host.Client().Get($"/v1/customers?email={email}&limit=2" + (cursor is null ? "" : $"&starting_after={cursor}"));
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.Equal("list", (string?)r.Body!["object"]);
            var data = r.Body!["data"]!.AsArray();
            seen.AddRange(data.Select(c => (string)c!["id"]!));
            var hasMore = (bool)r.Body!["has_more"]!;
            cursor = (string?)r.Body!["next_cursor"];
            Assert.Equal(hasMore, cursor is not null);
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(3, pages);
        ids.Reverse();
        Assert.Equal(ids, seen);
    }
}

public sealed class CustomerTestsSqlite(SqliteHost host) : CustomerTests(host), IClassFixture<SqliteHost>;

public sealed class CustomerTestsPostgres(PostgresHost host) : CustomerTests(host), IClassFixture<PostgresHost>;
