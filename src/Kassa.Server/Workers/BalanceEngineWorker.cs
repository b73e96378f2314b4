using Kassa.Engine.Balances;

namespace Kassa.Server.Workers;

/// <summary>Runs the balance engine's group-commit writer loops, and the read-only checks' reader loops, for the life of the process.</summary>
public sealed class BalanceEngineWorker(BalanceEngine engine, ReadOnlyCheckQueue readOnlyChecks) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(engine.RunAsync(stoppingToken), readOnlyChecks.RunAsync(stoppingToken));
}
