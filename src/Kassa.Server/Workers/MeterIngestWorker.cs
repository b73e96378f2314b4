using Kassa.Engine.Metering;

namespace Kassa.Server.Workers;

/// <summary>Runs the meter-event group-commit writer loops for the life of the process.</summary>
public sealed class MeterIngestWorker(IngestQueue queue) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => queue.RunAsync(stoppingToken);
}
