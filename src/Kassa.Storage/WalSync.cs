using Microsoft.Win32.SafeHandles;

namespace Kassa.Storage;

/// <summary>
/// Makes SQLite commits durable outside the write lock, many at once (ADR 0011). The writer connection runs
/// with <c>synchronous=NORMAL</c>: a COMMIT writes its WAL frames to the operating system and returns without
/// fsync, so the write lock is free again after microseconds of I/O instead of an fsync. Each commit then takes
/// a sequence number, and whoever must report it durable waits here: one fsync of the WAL file covers every
/// commit written before it started, so commits that finish while one fsync runs share the next.
/// <para>
/// Why this is as durable as <c>synchronous=FULL</c>: nothing is answered before the fsync that covers its
/// commit returns. The WAL is one file written front to back and SQLite recovers it only up to the first frame
/// whose running checksum fails, so after a power loss a commit can survive only with every commit before it;
/// SQLite itself still syncs the WAL header (and, on first use, the directory) when it starts or restarts the
/// WAL, and syncs before and after every checkpoint. What changes is visibility: another connection may read a
/// commit during the fraction of a millisecond before it is durable (see the ADR for why no side effect leaves
/// on such a read).
/// </para>
/// <para>
/// A failed fsync poisons the store: after one, the kernel may have dropped the dirty pages it could not
/// write and a later fsync would succeed without them, so no later commit can be called durable either.
/// Every waiter, then and after, gets the error and the process must be restarted (as PostgreSQL does).
/// </para>
/// </summary>
/// <param name="flush">fsyncs the file (tests replace it to hold or fail an fsync).</param>
public sealed class WalSync(Action<SafeFileHandle>? flush = null) : IDisposable
{
    private readonly Action<SafeFileHandle> _flush = flush ?? RandomAccess.FlushToDisk;
    private SafeFileHandle? _file;
    private readonly List<SafeFileHandle> _retired = [];

    private readonly object _gate = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private long _committed;
    private long _durable;
    private bool _running;
    private Exception? _failed;
    private long _syncs;

    /// <summary>fsyncs of the WAL so far (each may cover many commits), for tests and diagnostics.</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>
    /// The WAL file the writer connection writes, opened by the store while its connection holds the database
    /// open (so it is the live file, not one SQLite deleted when its last connection closed). A new writer
    /// connection brings a new handle; the old one is closed by the fsync loop once no round can be using it.
    /// Commits written through the old connection are still covered: either its WAL lives on (same file) or
    /// SQLite checkpointed it into the synced database file before deleting it.
    /// </summary>
    public void Use(SafeFileHandle file)
    {
        lock (_gate)
        {
            if (_file is not null && _file != file) _retired.Add(_file);
            _file = file;
        }
    }

    /// <summary>Called by the writer, still holding the write lock, once a COMMIT returned: the commit's sequence number.</summary>
    public long Committed() => Interlocked.Increment(ref _committed);

    /// <summary>The number of the last commit so far (0 before the first).</summary>
    public long LastCommitted => Interlocked.Read(ref _committed);

    /// <summary>Completes when the commit numbered <paramref name="sequence"/> (and every one before it) is on disk.</summary>
    public Task WaitAsync(long sequence)
    {
        lock (_gate)
        {
            if (_failed is not null) return Task.FromException(Poisoned());
            if (_durable >= sequence) return Task.CompletedTask;
            // Continuations run on the thread pool, never inline in the fsync loop: that loop must not run
            // request code, and a waiter that starts another write must not wait on itself.
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            if (!_running)
            {
                _running = true;
                _ = Task.Run(SyncLoop);
            }
            return done.Task;
        }
    }

    private Exception Poisoned() =>
        new IOException("An fsync of the SQLite WAL failed earlier, so no later commit can be reported durable; restart the server", _failed);

    private void SyncLoop()
    {
        while (true)
        {
            long target;
            SafeFileHandle? file;
            lock (_gate)
            {
                if (_waiters.Count == 0 || _failed is not null)
                {
                    _running = false;
                    return;
                }
                // Every commit numbered up to here has written its frames: the fsync below covers them all.
                target = Interlocked.Read(ref _committed);
                file = _file;
                // Only this loop fsyncs, and it is between rounds: no retired handle is in use.
                foreach (var old in _retired) old.Dispose();
                _retired.Clear();
            }
            Exception? error = null;
            try
            {
                _flush(file ?? throw new InvalidOperationException("A commit waits for durability but the store gave no WAL file to sync"));
                Interlocked.Increment(ref _syncs);
            }
            catch (Exception e)
            {
                error = e;
            }
            List<TaskCompletionSource> done = [];
            List<TaskCompletionSource> failed = [];
            lock (_gate)
            {
                if (error is not null)
                {
                    _failed = error;
                    failed.AddRange(_waiters.Select(w => w.Done));
                    _waiters.Clear();
                }
                else
                {
                    _durable = target;
                    for (var i = _waiters.Count - 1; i >= 0; i--)
                    {
                        if (_waiters[i].Sequence > target) continue;
                        done.Add(_waiters[i].Done);
                        _waiters.RemoveAt(i);
                    }
                }
            }
            foreach (var d in done) d.TrySetResult();
            foreach (var f in failed) f.TrySetException(Poisoned());
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var old in _retired) old.Dispose();
            _retired.Clear();
            _file?.Dispose();
            _file = null;
        }
    }
}
