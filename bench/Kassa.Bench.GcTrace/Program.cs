using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Analysis;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// kassa-gc-trace PID SECONDS [--each]: listens to a running .NET process's GC events for SECONDS (an EventPipe session,
// the runtime's GC keyword at verbose level, as `dotnet-trace collect --providers Microsoft-Windows-DotNETRuntime:0x1:5`
// would record) and prints what its collections cost: how many of each generation, the pauses, the bytes each promoted,
// and how long each marking phase took (the slowest heap's time per phase). MarkOlder is the card scan: references from
// older generations into the one collected, written since the last collection (bench/README.md, twenty-ninth session).
// --each also prints one line a collection.
if (args.Length < 2 || !int.TryParse(args[0], out var pid) || !int.TryParse(args[1], out var seconds) || seconds is < 1 or > 600)
{
    Console.Error.WriteLine("usage: kassa-gc-trace PID SECONDS(1..600) [--each]");
    return 2;
}
var each = args.Contains("--each");
var client = new DiagnosticsClient(pid);
var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC) };
using var session = client.StartEventPipeSession(providers, requestRundown: false);
using var source = new EventPipeEventSource(session.EventStream);
source.NeedLoadedDotNetRuntimes();
// The session ends the stream, and so Process(), when stopped.
_ = Task.Delay(TimeSpan.FromSeconds(seconds)).ContinueWith(_ => session.Stop(), TaskScheduler.Default);
source.Process();

var gcs = source.Processes().Select(p => p.LoadedDotNetRuntime()).Where(r => r is not null).SelectMany(r => r!.GC.GCs)
    .Where(g => g.PauseDurationMSec > 0).OrderBy(g => g.Number).ToList();
var phases = Enum.GetNames<MarkRootType>();
var markSums = new double[phases.Length];
var inv = CultureInfo.InvariantCulture;
foreach (var gc in gcs)
{
    // Each heap marks in parallel: a phase lasts as long as its slowest heap.
    var marks = new double[phases.Length];
    foreach (var info in gc.PerHeapMarkTimes?.Values ?? Enumerable.Empty<Microsoft.Diagnostics.Tracing.Analysis.GC.MarkInfo>())
        for (var i = 0; i < Math.Min(info.MarkTimes.Length, marks.Length); i++) marks[i] = Math.Max(marks[i], info.MarkTimes[i]);
    for (var i = 0; i < marks.Length; i++) markSums[i] += marks[i];
    if (each)
    {
        var shown = string.Join(" ", Enumerable.Range(0, marks.Length).Where(i => marks[i] >= 0.05).Select(i => string.Create(inv, $"{phases[i]}={marks[i]:F1}")));
        Console.WriteLine(string.Create(inv, $"[gc] #{gc.Number} gen{gc.Generation} {gc.Type} pause_ms={gc.PauseDurationMSec:F1} promoted_mb={gc.PromotedMB:F2} heap_after_mb={gc.HeapSizeAfterMB:F0} mark_ms=[{shown}]"));
    }
}
if (gcs.Count == 0)
{
    Console.WriteLine($"[gc] collections=0 seconds={seconds}");
    return 0;
}
var pauses = gcs.Select(g => g.PauseDurationMSec).Order().ToList();
var young = gcs.Where(g => g.Generation < 2).ToList();
var older = Array.IndexOf(phases, nameof(MarkRootType.MarkOlder));
Console.WriteLine(string.Create(inv,
    $"[gc] seconds={seconds} collections={gcs.Count} gen0={gcs.Count(g => g.Generation == 0)} gen1={gcs.Count(g => g.Generation == 1)} gen2={gcs.Count(g => g.Generation == 2)} " +
    $"paused_ms={pauses.Sum():F0} pause_mean_ms={pauses.Average():F1} pause_p50_ms={pauses[pauses.Count / 2]:F1} pause_max_ms={pauses[^1]:F1} " +
    $"promoted_mean_mb={(young.Count == 0 ? 0 : young.Average(g => g.PromotedMB)):F2} mark_older_mean_ms={markSums[older] / gcs.Count:F2}"));
return 0;
