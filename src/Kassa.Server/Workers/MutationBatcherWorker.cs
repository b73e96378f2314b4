using Kassa.Server.Http;

namespace Kassa.Server.Workers;

/// <summary>Runs the mutation batcher's writer loops for the life of the process (ADR 0010).</summary>
public sealed class MutationBatcherWorker(MutationBatcher batcher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => batcher.RunAsync(stoppingToken);
}
