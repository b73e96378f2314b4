using Kassa.Engine.Balances;

namespace Kassa.Server.Workers;

/// <summary>Runs the balance engine's group-commit writer loops for the life of the process.</summary>
public sealed class BalanceEngineWorker(BalanceEngine engine) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => engine.RunAsync(stoppingToken);
}
