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
        if (result.Items is { } items)
        {
            // Its own line, so the target line keeps one shape across scenarios. "<name>" counts what the
            // server took (accepted + duplicates); rejected items are also counted as errors above.
            var name = result.ItemName;
            var share = items.Offered > 0 ? items.Duplicates / (decimal)items.Offered : 0;
            output.WriteLine(Invariant(
                $"[bench] {name} scenario={options.Scenario} target={result.Target} {name}={items.Offered} {name}_per_s={result.PerSecond(items.Offered):0.0} accepted={items.Accepted} accepted_per_s={result.PerSecond(items.Accepted):0.0} duplicates={items.Duplicates} duplicate_share={share:0.000} rejected={items.Rejected}"));
        }

        if (result.Errors.Total > 0)
        {
            output.WriteLine($"[bench] errors {result.Target}: {Breakdown(result.Errors)}");
            if (result.Errors.Example is { } example)
            {
                output.WriteLine($"[bench] first error {result.Target}: {example}");
            }
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
        var line = new StringBuilder(Invariant(
            $"[bench] scenario={options.Scenario} target={target.Target} vs={twin.Target} rps={target.Rps:0.0} vs_rps={twin.Rps:0.0} speedup={Speedup(target, twin)} p99_ms={Ms(target.Latency.P99)} vs_p99_ms={Ms(twin.Latency.P99)} errors={target.Errors.Total} vs_errors={twin.Errors.Total}"));
        if (target.Items is { } items && twin.Items is { } twinItems)
        {
            // Requests can carry different numbers of items, so the item rates get a ratio of their own.
            var rate = target.PerSecond(items.Accepted);
            var twinRate = twin.PerSecond(twinItems.Accepted);
            line.Append(Invariant(
                $" accepted_per_s={rate:0.0} vs_accepted_per_s={twinRate:0.0} accepted_speedup={(twinRate > 0 ? Invariant($"{rate / twinRate:0.00}") : "n/a")}"));
        }

        foreach (var (key, value) in target.State ?? [])
        {
            var twinValue = twin.State?.FirstOrDefault(s => s.Key == key) is { Key: not null } found ? Invariant($"{found.Value}") : "n/a";
            line.Append(Invariant($" {key}={value} vs_{key}={twinValue}"));
        }

        output.WriteLine(line.ToString());
        output.Flush();
    }

    /// <summary>Prints the outcome of a setup batch: throughput only, its latency is not a figure.</summary>
    public void AddSetup(BatchResult batch)
    {
        var seconds = Seconds(batch.Elapsed);
        var rps = seconds > 0 ? batch.Count / seconds : 0;
        var line = Invariant(
            $"[bench] setup scenario={options.Scenario} batch={batch.Name} count={batch.Count} elapsed={seconds:0.0}s rps={rps:0.0} errors={batch.Errors.Total}");
        if (batch.Items is { } items)
        {
            var perSecond = seconds > 0 ? items.Accepted / seconds : 0;
            line += Invariant($" accepted={items.Accepted} accepted_per_s={perSecond:0.0} duplicates={items.Duplicates} rejected={items.Rejected}");
        }

        output.WriteLine(line);
        if (batch.Errors.Total > 0)
        {
            output.WriteLine($"[bench] errors {batch.Name}: {Breakdown(batch.Errors)}");
            if (batch.Errors.Example is { } example)
            {
                output.WriteLine($"[bench] first error {batch.Name}: {example}");
            }
        }

        output.Flush();
    }

    public void PrintSummary()
    {
        output.WriteLine();
        output.WriteLine(Invariant(
            $"summary: scenario={options.Scenario} url={options.Url} workers={options.Workers} duration={Seconds(options.Duration):0.0}s warmup={Seconds(options.Warmup):0.0}s cores={Environment.ProcessorCount}"));
        // Item rates get a column only in scenarios that count items, so other tables keep their shape.
        var withItems = rows.Any(r => r.Result.Items is not null);
        string[] header = ["target", "requests", "rps", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms", "errors", "ratio"];
        if (withItems)
        {
            header = [.. header, "accepted_per_s"];
        }

        var table = new List<string[]> { header };
        foreach (var row in rows)
        {
            var r = row.Result;
            string[] cells =
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
            ];
            if (withItems)
            {
                cells = [.. cells, r.Items is { } items ? Invariant($"{r.PerSecond(items.Accepted):0.0}") : "-"];
            }

            table.Add(cells);
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

            // Fields only some scenarios have are written only where they apply, so other files keep their shape.
            if (r.Errors.Example is { } example)
            {
                json.WriteString("error_example", example);
            }

            if (r.Items is { } items)
            {
                json.WriteNumber(r.ItemName, items.Offered);
                json.WriteNumber(r.ItemName + "_per_s", Math.Round(r.PerSecond(items.Offered), 1));
                json.WriteNumber("accepted", items.Accepted);
                json.WriteNumber("accepted_per_s", Math.Round(r.PerSecond(items.Accepted), 1));
                json.WriteNumber("duplicates", items.Duplicates);
                json.WriteNumber("rejected", items.Rejected);
            }

            foreach (var (key, value) in r.State ?? [])
            {
                json.WriteNumber(key, value);
            }

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
                if (r.Items is not null && twin.Items is { } twinItems)
                {
                    json.WriteNumber("vs_accepted_per_s", Math.Round(twin.PerSecond(twinItems.Accepted), 1));
                }

                foreach (var (key, value) in twin.State ?? [])
                {
                    json.WriteNumber("vs_" + key, value);
                }
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
        line += row.Baseline is { } baseline
            ? Invariant($" baseline={baseline.Target} baseline_rps={baseline.Rps:0.0} ratio={row.Ratio ?? 0:0.000}")
            : " baseline=none baseline_rps=n/a ratio=n/a";

        // State last: the fields before it are the same for every scenario.
        foreach (var (key, value) in r.State ?? [])
        {
            line += Invariant($" {key}={value}");
        }

        return line;
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
