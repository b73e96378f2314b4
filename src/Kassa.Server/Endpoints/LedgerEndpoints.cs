using Kassa.Engine.Ledger;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>Spec §9 ledger reads: the chart with balances, entries (JSON and CSV) and the trial balance.</summary>
public static class LedgerEndpoints
{
    public const string CsvContentType = "text/csv; charset=utf-8";

    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Ledger";
        v1.MapGet("/ledger/accounts", (HttpContext http, Api api, string? currency) =>
                api.Read(http, async (s, t) =>
                {
                    var accounts = await ListLedgerAccounts.Execute(s, t, currency);
                    return accounts.IsOk
                        ? Kassa.Core.Errors.Result<ListResource<LedgerAccountResource>>.Ok(new ListResource<LedgerAccountResource>(accounts.Value, false, null))
                        : Kassa.Core.Errors.Result<ListResource<LedgerAccountResource>>.Fail(accounts.Error!);
                }))
            .Doc("listLedgerAccounts", "The chart of accounts with each account's debits, credits and balance per currency (one page: the chart has nine accounts)", tag)
            .Produces<ListResource<LedgerAccountResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapGet("/ledger/entries", (HttpContext http, Api api, string? customer_id, string? from, string? to, string? limit, string? starting_after) =>
            {
                var filter = LedgerQuery.Parse(customer_id, null, from, to);
                if (!filter.IsOk) return ApiResponses.WriteError(http, filter.Error!);
                return EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListLedgerEntries.Execute(s, t, filter.Value, page));
            })
            .Doc("listLedgerEntries", "Journal entries with their lines, newest first (from inclusive, to exclusive)", tag)
            .Produces<ListResource<LedgerEntryResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapGet("/ledger/entries.csv", ExportCsv)
            .Doc("exportLedgerEntriesCsv",
                "Every journal line as CSV (RFC 4180, oldest first, one row per line; text cells starting with = + - @ get a leading apostrophe against formula injection; streamed; from inclusive, to exclusive and at most now)", tag)
            .Produces<string>(StatusCodes.Status200OK, "text/csv").Errors(400);
        v1.MapGet("/ledger/trial_balance", (HttpContext http, Api api, TimeProvider time, string? currency, string? as_of) =>
                api.Read(http, (s, t) => GetTrialBalance.Execute(s, t, currency, as_of, time.GetUtcNow())))
            .Doc("getTrialBalance", "Every account's debits, credits and balance in one currency over the entries before as_of (default now); debits equal credits", tag)
            .Produces<TrialBalanceResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
    }

    /// <summary>
    /// Validates the filter before the first byte, so a bad request still gets the JSON error envelope;
    /// after that the CSV streams page by page (a failure mid-stream aborts the response, and a client
    /// sees a truncated transfer rather than a file that looks complete).
    /// </summary>
    private static async Task ExportCsv(HttpContext http, IKassaStore store, TimeProvider time,
        string? customer_id, string? currency, string? from, string? to)
    {
        var filter = LedgerQuery.Parse(customer_id, currency, from, to);
        if (!filter.IsOk)
        {
            await ApiResponses.WriteError(http, filter.Error!);
            return;
        }
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = CsvContentType;
        http.Response.Headers.ContentDisposition = "attachment; filename=\"ledger.csv\"";
        http.Response.Headers.CacheControl = "no-store";
        await using var writer = new StreamWriter(http.Response.Body, new System.Text.UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
        await ExportLedgerCsv.Execute(store, http.Principal().Tenant, filter.Value, time.GetUtcNow(), writer, ct: http.RequestAborted);
    }
}
