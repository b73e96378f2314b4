using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Kassa.Storage;

/// <summary>
/// Lets the SQLite index file (<c>&lt;db&gt;-index</c>, derived from the main file alone) be written without fsync
/// (ADR 0020). SQLite keeps a file written at <c>synchronous=OFF</c> whole when the process dies (the kernel holds
/// every write) but not when the machine does: a checkpoint may have reused the WAL before the pages it copied
/// reached the disk. So a marker beside it, <c>&lt;db&gt;-index-unsynced</c>, says "dirty &lt;boot id&gt;" from before the
/// first unsynced write until the last store closing it has fsynced it ("clean"). A start that finds it dirty from
/// another boot of the machine deletes the index file, which is then refilled from the main file as a lost one is.
/// <para>
/// Several processes may open one store (the server, a CLI command beside it): each holds a shared flock on the
/// marker while it has the store open; only the one that gets it exclusively decides at start (then no other has the
/// file open) or marks it clean at the end (then it is the last). Where the machine gives no boot id (not Linux) or
/// the marker cannot be taken in time, there is no marker and the index file is written with fsync as before.
/// </para>
/// </summary>
internal sealed class UnsyncedIndexFile
{
    private readonly SafeFileHandle _marker;
    private readonly string _indexPath;

    private UnsyncedIndexFile(SafeFileHandle marker, string indexPath)
    {
        _marker = marker;
        _indexPath = indexPath;
    }

    public static string MarkerPath(string indexPath) => indexPath + "-unsynced";

    /// <summary>The boot of the running machine (Linux's boot_id); null where there is none.</summary>
    public static string? CurrentBootId()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Takes the marker for a store about to open the index file (before any connection has it open): deletes the
    /// file if a machine crash may have left it torn, marks it dirty for this boot, durably, and keeps a shared
    /// lock. Null (write the file with fsync) without a boot id or when the marker stays locked past <paramref name="wait"/>.
    /// </summary>
    public static async Task<UnsyncedIndexFile?> OpenAsync(string indexPath, string? bootId, TimeSpan wait, CancellationToken ct)
    {
        if (bootId is null || !OperatingSystem.IsLinux()) return null;
        var path = MarkerPath(indexPath);
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (TryOpen(path) is { } handle)
            {
                var taken = false;
                try
                {
                    if (Flock(handle, LockExclusive | LockNonBlocking))
                    {
                        // No other store has the file open: this one decides. A failure here fails the start.
                        var state = Read(handle);
                        if (state.StartsWith(DirtyPrefix, StringComparison.Ordinal) && state[DirtyPrefix.Length..] != bootId) DeleteIndex(indexPath);
                        Write(handle, DirtyPrefix + bootId);
                        // Downgraded, not atomically: a store starting meanwhile finds the marker dirty for this boot and keeps the file.
                        if (!Flock(handle, LockShared)) throw new IOException($"flock of {path} failed ({Marshal.GetLastPInvokeError()})");
                        taken = true;
                    }
                    // Another store has it open and decided already (it marked it dirty for this boot before unlocking).
                    else taken = Flock(handle, LockShared | LockNonBlocking);
                }
                finally
                {
                    if (!taken) handle.Dispose();
                }
                if (taken) return new UnsyncedIndexFile(handle, indexPath);
            }
            // Held exclusively for a moment by a store deciding or closing: try again.
            if (Stopwatch.GetTimestamp() > deadline) return null;
            await Task.Delay(20, ct);
        }
    }

    /// <summary>The marker opened (created if new, its directory entry made durable); null while another holds it exclusively.</summary>
    private static SafeFileHandle? TryOpen(string path)
    {
        var created = !File.Exists(path);
        SafeFileHandle handle;
        try
        {
            // .NET takes a shared flock of its own on open with this sharing; it fails while another holds it exclusively.
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException)
        {
            return null;
        }
        // A new marker must survive a machine crash before anything relies on it: its directory entry too.
        if (created) SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return handle;
    }

    /// <summary>
    /// After every connection of this store to the index file closed: the last store out fsyncs the file (and a WAL a
    /// connection left behind) and marks it clean; with another still open, the marker stays dirty.
    /// </summary>
    public void Close()
    {
        try
        {
            if (!Flock(_marker, LockExclusive | LockNonBlocking)) return;
            foreach (var file in new[] { _indexPath, _indexPath + "-wal" })
            {
                if (!File.Exists(file)) continue;
                using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                RandomAccess.FlushToDisk(handle);
            }
            Write(_marker, Clean);
        }
        catch (IOException)
        {
            // Left dirty: the next start after a machine crash rebuilds the file, which is only slower.
        }
        finally
        {
            _marker.Dispose();
        }
    }

    private const string DirtyPrefix = "dirty ";
    private const string Clean = "clean";

    private static string Read(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        var read = RandomAccess.Read(handle, buffer, 0);
        return Encoding.ASCII.GetString(buffer, 0, read).Trim();
    }

    /// <summary>
    /// Width every marker text is padded to (a boot id is 36 characters). The text is written over the same bytes, never
    /// truncated first: a crash in the middle leaves the old text or the new one (a single sector), never an empty marker,
    /// which would read as nothing to distrust.
    /// </summary>
    private const int MarkerBytes = 64;

    /// <summary>Replaces the marker's text, durably, before anything relies on it.</summary>
    private static void Write(SafeFileHandle handle, string state)
    {
        RandomAccess.Write(handle, Encoding.ASCII.GetBytes((state + "\n").PadRight(MarkerBytes)), 0);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Deletes the index file and its WAL and shared memory, durably: the marker then says this boot, and a torn file must not come back.</summary>
    private static void DeleteIndex(string indexPath)
    {
        foreach (var suffix in new[] { "-wal", "-shm", "" }) File.Delete(indexPath + suffix);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(indexPath))!);
    }

    private static void SyncDirectory(string directory)
    {
        var fd = OpenFile(directory, OpenReadOnly);
        if (fd < 0) return;
        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = CloseFile(fd);
        }
    }

    private const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4;
    /// <summary>O_RDONLY, which opens a directory too (O_DIRECTORY's value differs between architectures).</summary>
    private const int OpenReadOnly = 0;

    private static bool Flock(SafeFileHandle handle, int operation)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return FlockNative((int)handle.DangerousGetHandle(), operation) == 0;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int FlockNative(int fd, int operation);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseFile(int fd);
}
