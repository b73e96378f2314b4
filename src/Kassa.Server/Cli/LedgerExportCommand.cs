using System.CommandLine;
using System.Diagnostics;
using Kassa.Engine.Common;
using Kassa.Engine.Ledger;
using Kassa.Server.Hosting;

namespace Kassa.Server.Cli;

/// <summary>
/// <c>kassa ledger export --format csv</c>: the ledger of one account and mode as CSV, read from the
/// database directly (no server needed), byte for byte what <c>GET /v1/ledger/entries.csv</c> answers
/// for the same filter, because both run <see cref="ExportLedgerCsv"/>. The CSV goes to stdout or to
/// <c>--output</c> (written to a side file and renamed at the end, so a failed export never leaves a
/// file that looks complete); progress and the summary go to stderr.
/// </summary>
public static class LedgerExportCommand
{
    /// <summary>Progress is reported at most this often, so a long export shows it is alive without flooding stderr.</summary>
    public static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    public static Command Build(Option<string?> dbOption)
    {
        var format = new Option<string>("--format") { Description = "Output format", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv");
        var account = new Option<string?>("--account") { Description = "Account id (acct_…); default: the account the first start created" };
        var mode = new Option<string>("--mode") { Description = "test or live", DefaultValueFactory = _ => "test" };
        mode.AcceptOnlyFromAmong("test", "live");
        var from = new Option<string?>("--from") { Description = "Only entries at or after this RFC 3339 time" };
        var to = new Option<string?>("--to") { Description = "Only entries before this RFC 3339 time (default: now)" };
        var customer = new Option<string?>("--customer") { Description = "Only entries of this customer id" };
        var currency = new Option<string?>("--currency") { Description = "Only entries in this currency (usd, jpy, …)" };
        var output = new Option<string?>("--output") { Description = "Write the CSV to this file instead of stdout" };
        var export = new Command("export", "Export journal lines as CSV (one row per line, oldest first)") { format, account, mode, from, to, customer, currency, output, dbOption };
        export.SetAction((parse, ct) => KassaCli.Guard(async () =>
        {
            var options = KassaCli.Options(parse, dbOption, null);
            var filter = LedgerQuery.Parse(parse.GetValue(customer), parse.GetValue(currency), parse.GetValue(from), parse.GetValue(to));
            if (!filter.IsOk) return KassaCli.Fail($"--{filter.Error!.Param?.Replace('_', '-')} {filter.Error.Details?.FirstOrDefault()?.Message ?? filter.Error.Message}");
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            var accountId = parse.GetValue(account) ?? await store.ReadAsync(s => s.Meta.GetAsync("first_account"), ct);
            if (accountId is null || await store.ReadAsync(s => s.Accounts.GetAsync(accountId), ct) is null)
                return KassaCli.Fail(accountId is null ? "no account in this database" : $"no account '{accountId}'");
            var tenant = new Tenant(accountId, parse.GetValue(mode) == "live");
            var path = parse.GetValue(output);
            var started = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            void Progress(long rows)
            {
                if (started.Elapsed - lastReport < ProgressEvery) return;
                lastReport = started.Elapsed;
                Console.Error.WriteLine($"kassa: {rows:N0} rows written");
            }

            long written;
            if (path is null)
            {
                var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = false };
                await using (stdout) written = await ExportLedgerCsv.Execute(store, tenant, filter.Value, options.Time.GetUtcNow(), stdout, Progress, ct);
            }
            else
            {
                var partial = path + ".partial";
                try
                {
                    await using (var file = new StreamWriter(partial, append: false, new System.Text.UTF8Encoding(false)))
                        written = await ExportLedgerCsv.Execute(store, tenant, filter.Value, options.Time.GetUtcNow(), file, Progress, ct);
                    File.Move(partial, path, overwrite: true);
                }
                finally
                {
                    if (File.Exists(partial)) File.Delete(partial);
                }
            }
            Console.Error.WriteLine($"kassa: exported {written:N0} rows of {accountId} ({(tenant.Livemode ? "live" : "test")}){(path is null ? "" : $" to {path}")} in {started.Elapsed.TotalSeconds:0.0} s");
            return 0;
        }));
        return new Command("ledger", "Read the double-entry ledger") { export };
    }
}
