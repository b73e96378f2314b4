using System.Text.Json.Nodes;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Support;

/// <summary>
/// Journal entries as one comparable line each — <c>"payment/succeeded: 1000 DR 2000 CR 0; 1200 DR 0 CR 2000"</c>
/// — so a test asserts a customer's whole ledger with one exact, readable list.
/// </summary>
public static class LedgerLines
{
    public static string Of(JsonNode entry) =>
        string.Join("; ", entry["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}"));

    /// <summary>The customer's entries (at most 100), each as <c>source type/action: lines</c>, in ordinal order.</summary>
    public static async Task<string[]> OfCustomerAsync(HttpClient c, string customer) =>
        [.. (await c.Get($"/v1/ledger/entries?customer_id={customer}&limit=100")).Body!["data"]!.AsArray()
            .Select(e => $"{(string?)e!["source"]!["type"]}/{(string?)e["source"]!["action"]}: {Of(e)}").Order(StringComparer.Ordinal)];
}

/// <summary>Polling a resource until a background worker (reconcile, the roller, a restart) has moved it.</summary>
public static class Poll
{
    /// <summary>GETs <paramref name="path"/> every 100 ms, at most 300 times, until <paramref name="done"/>; fails the test otherwise.</summary>
    public static async Task<JsonNode> UntilAsync(HttpClient c, string path, Func<JsonNode, bool> done)
    {
        JsonNode? last = null;
        for (var i = 0; i < 300; i++)
        {
            var r = await c.Get(path);
            last = r.Body;
            if (r.Status == System.Net.HttpStatusCode.OK && done(r.Body!)) return r.Body!;
            await Task.Delay(100);
        }
        Assert.Fail($"{path} never reached the expected state: {last?.ToJsonString()}");
        return null!;
    }
}
