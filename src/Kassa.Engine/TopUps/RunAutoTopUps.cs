using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TopUps;

/// <summary>
/// Buys the auto top-ups that are due (spec §5.5), outside the balance engine: check and track never wait
/// for a purchase and never run a statement for it. A round first settles attempts whose payment has
/// settled since (a crash between the charge and the settle; the payment reconcile worker completed the
/// charge), then scans the enabled, armed settings not attempted in the last 10 minutes in key order, in
/// chunks, reads their committed balances chunk by chunk and, for each one below its threshold, claims
/// and starts the purchase (<see cref="StartAutoTopUp"/>), charges it and settles it
/// (<see cref="FinishAutoTopUp"/>). Several nodes may run it at once: the claim locks the customer and
/// the settings row and inserts the attempt under its window's key, so exactly one of them buys.
/// </summary>
public static class RunAutoTopUps
{
    /// <summary>Settings read per query.</summary>
    public const int ChunkSize = 100;

    /// <summary>Chunks per round: a round ends however many settings there are; the next one continues from <see cref="ScanPosition"/>.</summary>
    public const int ChunksMax = 10;

    /// <summary>What a round did: attempts settled as succeeded or failed (by this round), and unsettled attempts it could not finish now.</summary>
    public sealed record Report(int Succeeded, int Failed, int Errors);

    /// <summary>Where the real-time scan continues in the next round, so settings past a round's bound are reached too.</summary>
    public sealed class ScanPosition
    {
        public AutoTopUpRecord? After { get; set; }
    }

    /// <summary>One round for the customers on no test clock, at <paramref name="now"/>.</summary>
    public static async Task<Report> RunOnceAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, ScanPosition? position, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var tally = new Tally();
        await SettleProcessingAsync(store, now, tally, ct);
        position ??= new ScanPosition();
        for (var chunk = 0; chunk < ChunksMax; chunk++)
        {
            var due = await store.ReadAsync(s => s.TopUps.DueAsync(new AutoTopUpScan(now - AutoTopUpRules.Window, position.After), ChunkSize), ct);
            position.After = due.Count < ChunkSize ? null : due[^1];
            await BuyBelowThresholdAsync(store, providers, now, due, tally, ct);
            if (position.After is null) break;
        }
        return tally.Report;
    }

    /// <summary>
    /// The due top-ups of one test clock's customers at the clock's time (test clock advance runs it):
    /// the clock's time decides their 10-minute windows, as it decides everything else of theirs.
    /// </summary>
    public static async Task<Report> RunForClockAsync(IKassaStore store, PaymentProviders providers, OperationContext clockOp, string clockId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(clockOp);
        var tally = new Tally();
        var now = clockOp.Now;
        AutoTopUpRecord? after = null;
        for (var chunk = 0; chunk < ChunksMax; chunk++)
        {
            var scan = new AutoTopUpScan(now - AutoTopUpRules.Window, after, clockOp.Tenant, clockId);
            var due = await store.ReadAsync(s => s.TopUps.DueAsync(scan, ChunkSize), ct);
            await BuyBelowThresholdAsync(store, providers, now, due, tally, ct);
            if (due.Count < ChunkSize) break;
            after = due[^1];
        }
        return tally.Report;
    }

    private sealed class Tally
    {
        public int Succeeded;
        public int Failed;
        public int Errors;

        public Report Report => new(Succeeded, Failed, Errors);
    }

    /// <summary>Reads the chunk's balances (one read per account) and tries each top-up whose remaining is below its threshold.</summary>
    private static async Task BuyBelowThresholdAsync(IKassaStore store, PaymentProviders providers, DateTimeOffset now, IReadOnlyList<AutoTopUpRecord> due,
        Tally tally, CancellationToken ct)
    {
        if (due.Count == 0) return;
        var below = await store.ReadAsync(async s =>
        {
            var found = new List<AutoTopUpRecord>();
            foreach (var group in due.GroupBy(t => t.Tenant))
            {
                var book = await BalanceBook.LoadAsync(s, group.Key, [.. group.Select(t => t.CustomerId).Distinct(StringComparer.Ordinal)], [], forUpdate: false, now,
                    customersKnownToExist: true);
                found.AddRange(group.Where(t => StartAutoTopUp.IsBelow(book, t, now)));
            }
            return found;
        }, ct);
        foreach (var topUp in below)
        {
            try
            {
                await TryAsync(store, providers, new OperationContext(topUp.Tenant, Actor.System, "req_auto_top_up", now), topUp, tally, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One top-up that cannot be bought now (a provider outage, a lost connection) must not stop the
                // others. Its attempt, if begun, stays processing: the payment reconcile worker completes the
                // charge and a later round settles the attempt.
                tally.Errors++;
            }
        }
    }

    private static async Task TryAsync(IKassaStore store, PaymentProviders providers, OperationContext op, AutoTopUpRecord topUp, Tally tally, CancellationToken ct)
    {
        var started = await store.WriteAsync(s => StartAutoTopUp.Execute(s, op, topUp.CustomerId, topUp.FeatureId),
            commitIf: r => r.Outcome != StartAutoTopUp.Outcome.Refused, ct: ct);
        if (started.Outcome == StartAutoTopUp.Outcome.Refused)
        {
            // The purchase refused to start and its writes were rolled back: the claim is made again, this time recorded as failed.
            var refusal = started.Refusal;
            started = await store.WriteAsync(s => StartAutoTopUp.Execute(s, op, topUp.CustomerId, topUp.FeatureId, refusal), ct: ct);
        }
        if (started.Outcome == StartAutoTopUp.Outcome.Settled) Count(tally, await SettledSucceededAsync(store, started.Run!, ct));
        if (started.Outcome != StartAutoTopUp.Outcome.Charging) return;

        await ChargeInvoice.CompleteAsync(store, providers, started.Op, started.PaymentId!, ct);
        var run = started.Run!;
        if (await store.WriteAsync(s => FinishAutoTopUp.Execute(s, started.Op, run), ct: CancellationToken.None))
            Count(tally, await SettledSucceededAsync(store, run, ct));
    }

    private static async Task<bool> SettledSucceededAsync(IKassaStore store, AutoTopUpRun run, CancellationToken ct)
    {
        var settled = await store.ReadAsync(s => s.TopUps.GetRunAsync(run.Tenant, run.CustomerId, run.FeatureId, run.WindowStart, forUpdate: false), ct);
        return settled?.Status == AutoTopUpRules.RunSucceeded;
    }

    private static void Count(Tally tally, bool succeeded)
    {
        if (succeeded) tally.Succeeded++;
        else tally.Failed++;
    }

    /// <summary>Settles attempts still processing whose payment has settled since, in chunks (at most <see cref="ChunksMax"/>).</summary>
    private static async Task SettleProcessingAsync(IKassaStore store, DateTimeOffset now, Tally tally, CancellationToken ct)
    {
        AutoTopUpRun? after = null;
        for (var chunk = 0; chunk < ChunksMax; chunk++)
        {
            var processing = await store.ReadAsync(s => s.TopUps.ProcessingRunsAsync(after, ChunkSize), ct);
            foreach (var run in processing)
            {
                var op = new OperationContext(run.Tenant, Actor.System, "req_auto_top_up", now);
                try
                {
                    if (await store.WriteAsync(s => FinishAutoTopUp.Execute(s, op, run), ct: ct))
                        Count(tally, await SettledSucceededAsync(store, run, ct));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    tally.Errors++;
                }
            }
            if (processing.Count < ChunkSize) break;
            after = processing[^1];
        }
    }
}
