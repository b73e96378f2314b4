namespace Kassa.Bench;

/// <summary>
/// The <c>run</c> command, in order: reachability check, scenario setup, baseline, each target, then the
/// scenario's comparisons, all in one process so every figure in a run shares the same machine state.
/// </summary>
internal static class BenchRun
{
    public const int ExitOk = 0;
    public const int ExitUnreachable = 1;
    public const int ExitSetupFailed = 3;
    public const int ExitInterrupted = 130;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C stops cleanly (in-flight requests are cancelled); the process exits with 130.
            e.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await RunCoreAsync(options, interrupt.Token);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            Console.Error.WriteLine("kassa-bench: interrupted");
            return ExitInterrupted;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> RunCoreAsync(BenchOptions options, CancellationToken cancel)
    {
        var endpoint = new Endpoint(options.Url);
        var info = Scenarios.Find(options.Scenario)
            ?? throw new InvalidOperationException($"scenario {options.Scenario} passed parsing but is unknown");
        var scenario = info.Create(new ScenarioSettings(endpoint, options.Customers, options.Workers, options.Events, options.QueryWorkers, options.IngestSpreadSeconds, options.Settle)
        {
            Duration = options.Duration,
            Warmup = options.Warmup,
            SubscribeRate = options.SubscribeRate,
        });

        using var client = BenchHttp.CreateClient(options.Workers);
        var unreachable = await BenchHttp.CheckHealthAsync(client, endpoint, cancel);
        if (unreachable is not null)
        {
            Console.Error.WriteLine($"kassa-bench: server unreachable: {unreachable}");
            return ExitUnreachable;
        }

        var report = new Report(options, Console.Out);
        var runner = new LoadRunner(client, options);
        var driver = new ReportingSetupDriver(runner, report);
        Console.Error.WriteLine(
            $"[run] scenario={scenario.Name} url={options.Url} workers={options.Workers} cores={Environment.ProcessorCount}");

        if (scenario.Setup is not null)
        {
            try
            {
                await scenario.Setup(driver, cancel);
            }
            catch (SetupFailedException e)
            {
                Console.Error.WriteLine($"kassa-bench: {e.Message}");
                return ExitSetupFailed;
            }
        }

        // The baseline runs right before the targets, after setup, so it sees the same warmed-up server.
        // A scenario target with the baseline's name (the healthz scenario) is not measured twice: it is
        // measured first and serves as the baseline.
        var baselineTarget = options.BaselinePath is null ? null : Scenarios.Baseline(endpoint, options.BaselinePath);
        var order = new List<Target>();
        if (baselineTarget is not null)
        {
            order.Add(scenario.Targets.FirstOrDefault(t => t.Name == baselineTarget.Name) ?? baselineTarget);
        }

        order.AddRange(scenario.Targets.Where(t => t.Name != baselineTarget?.Name));

        // A misnamed comparison is a bug in the scenario; finding it now beats finding it after every phase ran.
        foreach (var comparison in scenario.Comparisons ?? [])
        {
            if (!order.Any(t => t.Name == comparison.Target) || !order.Any(t => t.Name == comparison.Versus))
            {
                throw new InvalidOperationException(
                    $"scenario {scenario.Name} compares {comparison.Target} with {comparison.Versus}, which it does not both measure");
            }
        }

        PhaseResult? baseline = null;
        var measured = new HashSet<string>(StringComparer.Ordinal);
        for (var phase = 0; phase < order.Count; phase++)
        {
            if (order[phase].Before is { } before)
            {
                try
                {
                    await before(driver, cancel);
                }
                catch (SetupFailedException e)
                {
                    // The phases before this one are real figures (and may have taken long): keep them.
                    Console.Error.WriteLine($"kassa-bench: {e.Message}");
                    Console.Error.WriteLine($"kassa-bench: {order[phase].Name} and the targets after it were not measured");
                    Finish(options, report, scenario, measured);
                    return ExitSetupFailed;
                }
            }

            var result = await runner.MeasureAsync(order[phase], phase, cancel);
            if (baselineTarget is not null && phase == 0)
            {
                baseline = result;
            }

            report.Add(result, baseline);
            measured.Add(result.Target);
            if (order[phase].After?.Invoke() is { } problem)
            {
                // Printed, so the failed requests show in its breakdown, but the run stops: the later
                // phases would measure against the same shortfall.
                Console.Error.WriteLine($"kassa-bench: {problem}");
                Finish(options, report, scenario, measured);
                return ExitSetupFailed;
            }
        }

        Finish(options, report, scenario, measured);
        return ExitOk;
    }

    /// <summary>The comparisons whose two targets were both measured, the summary, and the JSON file.</summary>
    private static void Finish(BenchOptions options, Report report, Scenario scenario, HashSet<string> measured)
    {
        // Comparisons come last: a target's twin is usually measured after it.
        foreach (var comparison in scenario.Comparisons ?? [])
        {
            if (measured.Contains(comparison.Target) && measured.Contains(comparison.Versus))
            {
                report.AddComparison(comparison);
            }
        }

        report.PrintSummary();
        if (options.JsonPath is not null)
        {
            report.WriteJson(options.JsonPath);
            Console.Error.WriteLine($"[run] wrote {options.JsonPath}");
        }
    }

    /// <summary>Hands setup batches to the runner and their outcome to the report.</summary>
    private sealed class ReportingSetupDriver(LoadRunner runner, Report report) : ISetupDriver
    {
        public async Task<BatchResult> RunBatchAsync(Batch batch, CancellationToken cancel)
        {
            var result = await runner.RunBatchAsync(batch, cancel);
            report.AddSetup(result);
            return result;
        }
    }
}
