using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kassa.Bench;

/// <summary>
/// Prints the figures: one <c>[bench]</c> line per target as soon as it is measured (one line per figure
/// so notes can quote it verbatim), an errors line when there were errors, one <c>vs=</c> line per
/// comparison once every target is measured, a summary table at the end, and optionally the same figures
/// as a JSON array. All numbers use the invariant culture.
/// </summary>
internal sealed class Report(BenchOptions options, TextWriter output)
{
    private readonly List<Row> rows = [];

    // Target name → the twin it was compared with, for the JSON rows.
    private readonly Dictionary<string, PhaseResult> versus = new(StringComparer.Ordinal);

    /// <summary>Prints and keeps one measured target. <paramref name="baseline"/> is null without a baseline.</summary>
    public void Add(PhaseResult result, PhaseResult? baseline)
    {
        var row = new Row(result, baseline);
        rows.Add(row);
        output.WriteLine(Line(row));
        if (result.Errors.Total > 0)
        {
            output.WriteLine($"[bench] errors {result.Target}: {Breakdown(result.Errors)}");
        }

        output.Flush();
    }

    /// <summary>
    /// Prints one measured target next to its twin, both already added: throughput ratio (speedup) and
    /// both p99s. The errors of both are repeated because a speedup over failures means nothing.
    /// </summary>
    public void AddComparison(Comparison comparison)
    {
        var target = Find(comparison.Target);
        var twin = Find(comparison.Versus);
        versus[target.Target] = twin;
        output.WriteLine(Invariant(
            $"[bench] scenario={options.Scenario} target={target.Target} vs={twin.Target} rps={target.Rps:0.0} vs_rps={twin.Rps:0.0} speedup={Speedup(target, twin)} p99_ms={Ms(target.Latency.P99)} vs_p99_ms={Ms(twin.Latency.P99)} errors={target.Errors.Total} vs_errors={twin.Errors.Total}"));
        output.Flush();
    }

    /// <summary>Prints the outcome of a setup batch: throughput only, its latency is not a figure.</summary>
    public void AddSetup(BatchResult batch)
    {
        var seconds = Seconds(batch.Elapsed);
        var rps = seconds > 0 ? batch.Count / seconds : 0;
        output.WriteLine(Invariant(
            $"[bench] setup scenario={options.Scenario} batch={batch.Name} count={batch.Count} elapsed={seconds:0.0}s rps={rps:0.0} errors={batch.Errors.Total}"));
        if (batch.Errors.Total > 0)
        {
            output.WriteLine($"[bench] errors {batch.Name}: {Breakdown(batch.Errors)}");
        }

        output.Flush();
    }

    public void PrintSummary()
    {
        output.WriteLine();
        output.WriteLine(Invariant(
            $"summary: scenario={options.Scenario} url={options.Url} workers={options.Workers} duration={Seconds(options.Duration):0.0}s warmup={Seconds(options.Warmup):0.0}s cores={Environment.ProcessorCount}"));
        var header = new[] { "target", "requests", "rps", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms", "errors", "ratio" };
        var table = new List<string[]> { header };
        foreach (var row in rows)
        {
            var r = row.Result;
            table.Add(
            [
                r.Target,
                Invariant($"{r.Requests}"),
                Invariant($"{r.Rps:0.0}"),
                Ms(r.Latency.P50),
                Ms(r.Latency.P90),
                Ms(r.Latency.P99),
                Ms(r.Latency.P999),
                Ms(r.Latency.Max),
                Invariant($"{r.Errors.Total}"),
                row.Ratio is { } ratio ? Invariant($"{ratio:0.000}") : "n/a",
            ]);
        }

        var widths = new int[header.Length];
        foreach (var cells in table)
        {
            for (var i = 0; i < cells.Length; i++)
            {
                widths[i] = Math.Max(widths[i], cells[i].Length);
            }
        }

        foreach (var cells in table)
        {
            var line = new StringBuilder();
            for (var i = 0; i < cells.Length; i++)
            {
                // Names left-aligned, numbers right-aligned.
                line.Append(i == 0 ? cells[i].PadRight(widths[i]) : "  " + cells[i].PadLeft(widths[i]));
            }

            output.WriteLine(line.ToString());
        }

        output.Flush();
    }

    /// <summary>Writes every row as one object of a JSON array, numbers rounded as on the lines.</summary>
    public void WriteJson(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var row in rows)
        {
            var r = row.Result;
            json.WriteStartObject();
            json.WriteString("scenario", options.Scenario);
            json.WriteString("target", r.Target);
            json.WriteString("url", options.Url.AbsoluteUri);
            json.WriteNumber("workers", r.Workers);
            json.WriteNumber("duration_s", Math.Round(Seconds(r.Duration), 3));
            json.WriteNumber("warmup_s", Math.Round(Seconds(options.Warmup), 3));
            json.WriteNumber("cores", Environment.ProcessorCount);
            json.WriteNumber("requests", r.Requests);
            json.WriteNumber("rps", Math.Round(r.Rps, 1));
            json.WriteNumber("p50_ms", MsValue(r.Latency.P50));
            json.WriteNumber("p90_ms", MsValue(r.Latency.P90));
            json.WriteNumber("p99_ms", MsValue(r.Latency.P99));
            json.WriteNumber("p999_ms", MsValue(r.Latency.P999));
            json.WriteNumber("max_ms", MsValue(r.Latency.Max));
            json.WriteNumber("errors", r.Errors.Total);
            json.WriteStartObject("errors_by_kind");
            foreach (var e in r.Errors.Breakdown())
            {
                json.WriteNumber(e.Kind, e.Count);
            }

            json.WriteEndObject();
            if (row.Baseline is { } baseline)
            {
                json.WriteString("baseline", baseline.Target);
                json.WriteNumber("baseline_rps", Math.Round(baseline.Rps, 1));
            }
            else
            {
                json.WriteNull("baseline");
                json.WriteNull("baseline_rps");
            }

            if (row.Ratio is { } ratio)
            {
                json.WriteNumber("ratio", Math.Round(ratio, 3));
            }
            else
            {
                json.WriteNull("ratio");
            }

            // Only rows that were compared get these fields, so other scenarios' files keep their shape.
            if (versus.TryGetValue(r.Target, out var twin))
            {
                json.WriteString("vs", twin.Target);
                json.WriteNumber("vs_rps", Math.Round(twin.Rps, 1));
                if (SpeedupValue(r, twin) is { } speedup)
                {
                    json.WriteNumber("speedup", Math.Round(speedup, 2));
                }
                else
                {
                    json.WriteNull("speedup");
                }

                json.WriteNumber("vs_p99_ms", MsValue(twin.Latency.P99));
                json.WriteNumber("vs_errors", twin.Errors.Total);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private string Line(Row row)
    {
        var r = row.Result;
        var line = Invariant(
            $"[bench] scenario={options.Scenario} target={r.Target} workers={r.Workers} duration={Seconds(r.Duration):0.0}s requests={r.Requests} rps={r.Rps:0.0} p50_ms={Ms(r.Latency.P50)} p99_ms={Ms(r.Latency.P99)} max_ms={Ms(r.Latency.Max)} errors={r.Errors.Total}");
        return row.Baseline is { } baseline
            ? line + Invariant($" baseline={baseline.Target} baseline_rps={baseline.Rps:0.0} ratio={row.Ratio ?? 0:0.000}")
            : line + " baseline=none baseline_rps=n/a ratio=n/a";
    }

    private PhaseResult Find(string target) =>
        rows.Select(r => r.Result).FirstOrDefault(r => r.Target == target)
        ?? throw new InvalidOperationException($"comparison names {target}, which was not measured");

    /// <summary>How many times the twin's throughput the target reached; null if the twin did nothing.</summary>
    private static decimal? SpeedupValue(PhaseResult target, PhaseResult twin) =>
        twin.Rps > 0 ? target.Rps / twin.Rps : null;

    private static string Speedup(PhaseResult target, PhaseResult twin) =>
        SpeedupValue(target, twin) is { } speedup ? Invariant($"{speedup:0.00}") : "n/a";

    /// <summary>"429x12, 500x1, HttpRequestException(ConnectionError) x3": statuses glued, exception names spaced.</summary>
    private static string Breakdown(ErrorTally errors) => string.Join(
        ", ",
        errors.Breakdown().Select(e => e.IsStatus ? Invariant($"{e.Kind}x{e.Count}") : Invariant($"{e.Kind} x{e.Count}")));

    private static decimal Seconds(TimeSpan span) => span.Ticks / (decimal)TimeSpan.TicksPerSecond;

    private static decimal MsValue(long nanoseconds) => Math.Round(nanoseconds / 1_000_000m, 3);

    private static string Ms(long nanoseconds) => Invariant($"{MsValue(nanoseconds):0.000}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Row(PhaseResult Result, PhaseResult? Baseline)
    {
        /// <summary>This target's throughput over the baseline's; null without a baseline or if it did nothing.</summary>
        public decimal? Ratio => Baseline is { Rps: > 0 } b ? Result.Rps / b.Rps : null;
    }
}
