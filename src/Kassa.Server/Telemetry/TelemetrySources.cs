using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Engine.Telemetry;

namespace Kassa.Server.Telemetry;

/// <summary>
/// Connects this host's queues and backlog to the observable gauges of <see cref="KassaMeters"/> while
/// it runs, and disconnects them when it stops (a test process runs many hosts one after another).
/// </summary>
public sealed class TelemetrySources(BalanceEngine engine, ReadOnlyCheckQueue readOnlyChecks, IngestQueue ingest, BacklogGauge backlog) : IHostedService
{
    private readonly List<IDisposable> _registrations = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registrations.Add(KassaMeters.ObserveQueue(new KassaMeters.QueueSource(GroupCommitLoop.Balances, () => engine.QueueLength)));
        _registrations.Add(KassaMeters.ObserveQueue(new KassaMeters.QueueSource(GroupCommitLoop.Ingest, () => ingest.QueueLength)));
        _registrations.Add(KassaMeters.ReportBacklog(backlog.Read));
        if (readOnlyChecks.Enabled) _registrations.Add(KassaMeters.ObserveReadOnlyChecks(() => readOnlyChecks.QueueLength));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
        return Task.CompletedTask;
    }
}
