using System.Net;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Support;

/// <summary>
/// The ledger self-check of issue 12 through the public API: the trial balance's debits equal its
/// credits, and accounts receivable (1200) equals the sum of the open invoices' <c>amount_due</c> in
/// that currency. Scenario tests call it at their end.
/// </summary>
public static class LedgerSelfCheck
{
    /// <summary>
    /// Far past every entry a test writes: tests move their clocks forward (reconcile grace periods, renewals),
    /// so entries can be dated after the real "now" that <c>as_of</c> defaults to.
    /// </summary>
    private const string AsOf = "2100-01-01T00:00:00Z";

    /// <summary>Pages of open invoices read at most: a bound on the check itself (100 per page).</summary>
    public const int PagesMax = 100;

    public static async Task AssertHoldsAsync(HttpClient client, string currency = "usd")
    {
        var tb = await client.Get($"/v1/ledger/trial_balance?currency={currency}&as_of={AsOf}");
        Assert.Equal(HttpStatusCode.OK, tb.Status);
        Assert.Equal((long)tb.Body!["debits"]!, (long)tb.Body["credits"]!);
        var receivable = (long)tb.Body["accounts"]!.AsArray().Single(a => (string?)a!["code"] == "1200")!["balance"]!;

        long due = 0;
        string? cursor = null;
        for (var page = 0; page < PagesMax; page++)
        {
            var list = await client.Get("/v1/invoices?status=open&limit=100" + (cursor is null ? "" : $"&starting_after={cursor}"));
            Assert.Equal(HttpStatusCode.OK, list.Status);
            due += list.Body!["data"]!.AsArray().Where(i => (string?)i!["currency"] == currency).Sum(i => (long)i!["amount_due"]!);
            if (!(bool)list.Body["has_more"]!) break;
            cursor = (string)list.Body["next_cursor"]!;
        }
        Assert.Equal(due, receivable);
    }
}
