using Kassa.Server.Workers;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// The roller's and the indexer's thread (ADR 0006): the loop runs on its own named thread at nice +10 on Linux, its
/// continuations after real awaits come back to that thread, and its end or failure reaches the returned task.
/// </summary>
public sealed class LowPriorityThreadTests
{
    /// <summary>This thread's nice value: field 19 of /proc/thread-self/stat (after the command name in parentheses).</summary>
    private static int Nice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task The_loop_runs_on_its_own_thread_at_a_lower_priority_across_awaits_and_returns_its_end()
    {
        var seen = new List<(string? Name, int Managed, int Nice)>();
        void Note() => seen.Add((Thread.CurrentThread.Name, Environment.CurrentManagedThreadId, OperatingSystem.IsLinux() ? Nice() : LowPriorityThread.Niceness));
        await LowPriorityThread.Run("kassa-test-loop", async () =>
        {
            Note();
            await Task.Delay(20);
            Note();
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            await timer.WaitForNextTickAsync();
            Note();
            await Task.Run(() => Thread.Sleep(5));
            Note();
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(4, seen.Count);
        Assert.All(seen, s => Assert.Equal(("kassa-test-loop", seen[0].Managed, LowPriorityThread.Niceness), s));
        Assert.NotEqual(Environment.CurrentManagedThreadId, seen[0].Managed);
    }

    [Fact]
    public async Task A_loop_that_fails_or_is_cancelled_ends_the_returned_task_the_same_way()
    {
        var failed = LowPriorityThread.Run("kassa-test-fail", async () =>
        {
            await Task.Delay(5);
            throw new InvalidOperationException("broken roll");
        });
        Assert.Equal("broken roll", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed.WaitAsync(TimeSpan.FromSeconds(30)))).Message);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
        var cancelled = LowPriorityThread.Run("kassa-test-stop", () => Task.Delay(Timeout.Infinite, stop.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(cancelled.IsCanceled);
    }
}
