using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Kassa.Server.Workers;

/// <summary>
/// Runs an asynchronous loop on a thread of its own whose scheduling priority is lowered (Linux: nice +10 for that
/// thread), with every continuation of the loop posted back to that thread. For the meter roller and SQLite's
/// event indexer (ADR 0006, "The event index in its own file"): their work is derived data that may lag, so when
/// the two cores are short they should yield to ingest and the API, which answer clients — measured with both
/// loops at normal priority, the SQLite ingest maximum fell from ~94,000 to ~57,000 accepted events/s while they
/// took the CPU. With a lower priority they get what the request paths leave, which at half the ingest maximum is
/// enough to keep up. SQLite's statements run synchronously, so the loop's work stays on this thread; the few real
/// awaits (the main file's fsync, the timer) come back to it through the context below.
/// </summary>
internal static class LowPriorityThread
{
    /// <summary>The nice value added (0 normal, 19 lowest): low enough to yield under contention, high enough that a busy server still rolls.</summary>
    public const int Niceness = 10;

    public static Task Run(string name, Func<Task> loop)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Lower();
            var context = new LoopContext();
            SynchronizationContext.SetSynchronizationContext(context);
            Task task;
            try
            {
                task = loop();
            }
            catch (Exception e)
            {
                task = Task.FromException(e);
            }
            task.ContinueWith(_ => context.Complete(), TaskScheduler.Default);
            context.RunUntilComplete();
            if (task.IsFaulted) done.TrySetException(task.Exception!.InnerExceptions);
            else if (task.IsCanceled) done.TrySetCanceled();
            else done.TrySetResult();
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private static void Lower()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            // PRIO_PROCESS with a thread id sets that thread's nice value alone (Linux threads are scheduled apart).
            // Raising one's own nice value needs no privilege; a failure leaves the thread at normal priority.
            _ = SetPriority(0, GetTid(), Niceness);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int prio);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetTid();

    /// <summary>
    /// Runs posted continuations on the loop's thread, in order. Unbounded as a queue, but it holds the continuations
    /// of one sequential loop: at most the one or two its awaits have posted and not yet run.
    /// </summary>
    private sealed class LoopContext : SynchronizationContext
    {
        private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _posted = new();

        public override void Post(SendOrPostCallback d, object? state)
        {
            // After the loop ended nothing of it is left to run; a late post (a timer's) has no one to run it. Checking
            // IsAddingCompleted first would race with Complete: TryAdd throws once adding is complete.
            try
            {
                _posted.TryAdd((d, state));
            }
            catch (InvalidOperationException) when (_posted.IsAddingCompleted)
            {
            }
        }

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("the loop's context runs posted work only");

        public override SynchronizationContext CreateCopy() => this;

        public void Complete() => _posted.CompleteAdding();

        public void RunUntilComplete()
        {
            foreach (var (callback, state) in _posted.GetConsumingEnumerable()) callback(state);
        }
    }
}
