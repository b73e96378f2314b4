using System.Diagnostics;
using Kassa.Engine.Storage;
using Kassa.Engine.Telemetry;

namespace Kassa.Engine.Metering;

/// <summary>
/// SQLite's event indexer (ADR 0006, "The event index in its own file"): copies the committed events' keys into
/// the customer and time orders the list and usage queries read, behind a watermark of its own, in a file of its
/// own. It runs beside the roller rather than inside each roll, so on two cores the two passes overlap instead of
/// adding up. Lists and usage stay exact whatever it has done: the events at or above its watermark are read by
/// position. PostgreSQL has no indexer: each roll writes the index in its own transaction.
/// </summary>
public static class IndexMeterEvents
{
    /// <summary>
    /// Events one pass takes at most: as for a roll (<see cref="RollMeterEvents.ChunkEventsMax"/>), larger passes
    /// write fewer pages per event, and an indexer that keeps up settles at what arrives while it writes.
    /// </summary>
    public const int PassEventsMax = 100_000;

    /// <summary>
    /// One pass: the events read in a read session, then written in the index file's transaction; true when another
    /// should follow at once (the pass was full, or another pass moved the watermark since the read).
    /// </summary>
    public static async Task<bool> IndexOnceAsync(IKassaStore store, TimeProvider time, CancellationToken ct = default)
    {
        var since = Stopwatch.GetTimestamp();
        // Held until written, as rows in pooled arrays (EventPass): returned when the pass ends.
        using var read = await store.ReadAsync(s => s.Metering.ReadEventsToIndexAsync(PassEventsMax), ct);
        if (read.Events.Count == 0) return false;
        var pass = await store.WriteEventIndexAsync(s => s.Metering.IndexEventsAsync(read, time.GetUtcNow()), ct);
        // The pass with its read and commit: on SQLite this is the event index's share of the meter pipeline (the roll's
        // own index phase is PostgreSQL's copy).
        if (pass.Events > 0) KassaMeters.RecordRollPhase(KassaMeters.RollPhase.Index, Stopwatch.GetTimestamp() - since);
        return pass.Events == 0 || pass.Events >= PassEventsMax;
    }
}
