using Kassa.Server.Hosting;

namespace Kassa.Server.Cli;

/// <summary><c>kassa serve</c>: migrate, make the first account if there is none, then serve until stopped.</summary>
public static class ServeCommand
{
    public static async Task<int> RunAsync(KassaOptions options, CancellationToken ct)
    {
        await using var store = KassaApp.OpenStore(options);
        await store.MigrateAsync(ct);
        // Every node of one database signs hosted invoice links with the same stored secret.
        await Kassa.Engine.HostedPages.HostedInvoiceLinks.UseStoredSecretAsync(store, ct);
        var created = await Bootstrap.EnsureFirstAccountAsync(store, options.Time, options.BootstrapKey, ct);
        // After the real store answered and migrated, so a database that cannot be used fails at once.
        if (options.WarmUp > TimeSpan.Zero)
        {
            Console.WriteLine($"kassa warming up on a scratch store until the JIT settles, at most {options.WarmUp.TotalSeconds:0} s (KASSA_WARMUP_SECONDS=0 skips it)");
            if (await WarmUp.RunAsync(options, options.WarmUp, Console.Out, ct) is { } warm)
            {
                var end = warm.Settled ? "the JIT settled" : "stopped at the limit before the JIT settled";
                Console.WriteLine($"kassa warmed up: {warm.Requests} requests in {warm.Elapsed.TotalSeconds:0.0} s, {warm.Failures} failed; {end}");
            }
        }
        var app = KassaApp.Build(options, store);
        await app.StartAsync(ct);
        Console.WriteLine($"kassa listening on {string.Join(", ", options.Urls.Split(';'))} — storage: {store.Describe()}");
        if (created is not null)
        {
            Console.WriteLine($"created account {created.AccountId}");
            if (options.BootstrapKey is null)
                Console.WriteLine($"test secret key (shown once, store it now): {created.TestSecretKey}");
            else
                Console.WriteLine("test secret key: the one given in KASSA_BOOTSTRAP_KEY");
        }
        await app.WaitForShutdownAsync(ct);
        await app.DisposeAsync();
        return 0;
    }
}
