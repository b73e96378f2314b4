using System.CommandLine;
using System.Data.Common;
using System.Net.Sockets;
using System.Text.Json;
using Kassa.Core.Keys;
using Kassa.Engine.Accounts;
using Kassa.Engine.ApiKeys;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Server.Hosting;

namespace Kassa.Server.Cli;

/// <summary>
/// The <c>kassa</c> command line. Every failure the operator can cause (a bad flag, an unreachable
/// database, a bad bootstrap key) ends with one line on stderr and a non-zero exit, never a stack trace.
/// </summary>
public static class KassaCli
{
    public const int ExitUsage = 2;
    public const int ExitFailure = 1;

    public static async Task<int> RunAsync(string[] args)
    {
        var dbOption = new Option<string?>("--db") { Description = "Connection string (Host=…, postgres://…) or SQLite file; default kassa-data/kassa.db (env KASSA_DB)" };
        var root = new RootCommand("Kassa — an open-source billing engine");

        var urlsOption = new Option<string?>("--urls") { Description = $"Listen addresses, ';'-separated (env KASSA_URLS; default {KassaOptions.DefaultUrls})" };
        var serve = new Command("serve", "Run the HTTP API, pages and background workers") { urlsOption, dbOption };
        serve.SetAction((parse, ct) => Guard(() => ServeCommand.RunAsync(Options(parse, dbOption, urlsOption), ct)));
        root.Subcommands.Add(serve);

        var migrate = new Command("migrate", "Apply database migrations and exit") { dbOption };
        migrate.SetAction((parse, ct) => Guard(async () =>
        {
            var options = Options(parse, dbOption, null);
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            Console.WriteLine($"migrated {store.Describe()}");
            return 0;
        }));
        root.Subcommands.Add(migrate);

        var nameOption = new Option<string>("--name") { Description = "Account name", Required = true };
        var accountsCreate = new Command("create", "Create an account and print its four keys as JSON") { nameOption, dbOption };
        accountsCreate.SetAction((parse, ct) => Guard(async () =>
        {
            var options = Options(parse, dbOption, null);
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            var result = await store.WriteAsync(s => CreateAccount.Execute(s, options.Time.GetUtcNow(), parse.GetValue(nameOption)!), r => r.IsOk, ct);
            if (!result.IsOk) return Fail($"{result.Error!.Param} {result.Error.Message}");
            var created = result.Value!;
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                account_id = created.AccountId,
                test_secret_key = created.TestSecretKey,
                live_secret_key = created.LiveSecretKey,
                test_publishable_key = created.TestPublishableKey,
                live_publishable_key = created.LivePublishableKey,
            }));
            return 0;
        }));
        root.Subcommands.Add(new Command("accounts", "Manage accounts") { accountsCreate });

        var accountOption = new Option<string>("--account") { Description = "Account id (acct_…)", Required = true };
        var typeOption = new Option<string>("--type") { Description = "secret or publishable", Required = true };
        typeOption.AcceptOnlyFromAmong("secret", "publishable");
        var modeOption = new Option<string>("--mode") { Description = "test or live", Required = true };
        modeOption.AcceptOnlyFromAmong("test", "live");
        var keyNameOption = new Option<string?>("--name") { Description = "A name for the key" };
        var keysCreate = new Command("create", "Create an API key and print it as JSON (shown once)") { accountOption, typeOption, modeOption, keyNameOption, dbOption };
        keysCreate.SetAction((parse, ct) => Guard(async () =>
        {
            var options = Options(parse, dbOption, null);
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            var accountId = parse.GetValue(accountOption)!;
            var livemode = parse.GetValue(modeOption) == "live";
            var type = parse.GetValue(typeOption)!;
            var now = options.Time.GetUtcNow();
            var result = await store.WriteAsync(async s =>
            {
                if (await s.Accounts.GetAsync(accountId) is null) return Kassa.Core.Errors.KassaError.NotFound("account", accountId);
                var op = new OperationContext(new Tenant(accountId, livemode), Actor.System, Ids.New(Kassa.Core.Ids.IdPrefixes.Request, now), now);
                return await CreateApiKey.Execute(s, op, new CreateApiKey.Request(parse.GetValue(keyNameOption) ?? $"CLI {type} key", type));
            }, r => r.IsOk, ct);
            if (!result.IsOk) return Fail(result.Error!.Message);
            Console.WriteLine(JsonSerializer.Serialize(result.Value, KassaJson.Options));
            return 0;
        }));
        root.Subcommands.Add(new Command("keys", "Manage API keys") { keysCreate });

        var meterOption = new Option<string>("--meter") { Description = "Meter id; every account and mode with a meter of that id is rebuilt", Required = true };
        var rebuild = new Command("rebuild", "Recompute a meter's hourly rollups from its raw events (rolls wait meanwhile; event inserts do not)") { meterOption, dbOption };
        rebuild.SetAction((parse, ct) => Guard(async () =>
        {
            var options = Options(parse, dbOption, null);
            await using var store = KassaApp.OpenStore(options);
            await store.MigrateAsync(ct);
            var meterId = parse.GetValue(meterOption)!;
            var meters = await store.ReadAsync(s => s.Metering.FindMetersAsync(meterId), ct);
            if (meters.Count == 0) return Fail($"no meter '{meterId}' in any account");
            // The rebuild recomputes what the roller has folded; fold what is committed first (bounded:
            // events arriving meanwhile are the running roller's), so every event stored so far is read.
            for (var chunk = 0; chunk < 1_000; chunk++)
                if (!(await store.WriteRollupsAsync(s => Kassa.Engine.Metering.RollMeterEvents.Execute(s, options.Time.GetUtcNow()), ct)).Full) break;
            foreach (var meter in meters)
            {
                var mode = meter.Livemode ? "live" : "test";
                var started = System.Diagnostics.Stopwatch.StartNew();
                var lastReport = TimeSpan.Zero;
                // Progress on stderr (stdout carries the result line): at most one line a second.
                var outcome = await store.WriteRollupsAsync(s => Kassa.Engine.Metering.RebuildMeterRollups.Execute(s, meter, seen =>
                {
                    if (started.Elapsed - lastReport < TimeSpan.FromSeconds(1)) return;
                    lastReport = started.Elapsed;
                    Console.Error.WriteLine($"kassa: {meter.AccountId} {mode} {meterId}: {seen:N0} events read");
                }), ct);
                Console.WriteLine($"rebuilt meter {meterId} of {meter.AccountId} ({mode}): {outcome.Events:N0} events read, {outcome.Cells:N0} hourly cells, {started.Elapsed.TotalSeconds:0.0} s");
            }
            return 0;
        }));
        root.Subcommands.Add(new Command("meters", "Manage meters") { rebuild });
        root.Subcommands.Add(LedgerExportCommand.Build(dbOption));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // The parser's messages may span lines (lists of allowed values); the contract is one line.
            var message = System.Text.RegularExpressions.Regex.Replace(parsed.Errors[0].Message, @"\s+", " ").Trim();
            Console.Error.WriteLine($"kassa: {message} (see 'kassa --help')");
            return ExitUsage;
        }
        return await parsed.InvokeAsync();
    }

    internal static KassaOptions Options(ParseResult parse, Option<string?> db, Option<string?>? urls)
    {
        var options = KassaOptions.FromEnvironment();
        if (parse.GetValue(db) is { Length: > 0 } d) options.Db = d;
        if (urls is not null && parse.GetValue(urls) is { Length: > 0 } u) options.Urls = u;
        return options;
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"kassa: {message}");
        return ExitFailure;
    }

    /// <summary>Turns the failures an operator can cause into one line and exit code 1.</summary>
    internal static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception e) when (e is DbException or SocketException or TimeoutException || e.InnerException is SocketException or TimeoutException)
        {
            return Fail($"cannot use the database: {FirstLine(e.Message)}");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or UnauthorizedAccessException or IOException)
        {
            return Fail(FirstLine(e.Message));
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
