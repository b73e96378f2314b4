using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kassa.Core.Ids;
using Kassa.Engine.Balances;
using Kassa.Engine.Common;
using Kassa.Engine.Metering;
using Kassa.Server.Tests.Infrastructure;

namespace Kassa.Server.Tests.Api;

/// <summary>
/// A committed batch is never applied twice, and a rolled-back one is applied exactly once after all:
/// each group-commit loop (balances, meter ingest) is failed at every point of its commit on a real
/// database, and balances, movement logs, usage and answers are asserted exactly. The batches are
/// committed through engines of the test's own over the host's database, so each batch holds exactly
/// the operations the test chose. Both engines.
/// </summary>
public abstract class GroupCommitFailureTests(KassaHost host)
{
    private static readonly GroupCommitPoint[] Points = Enum.GetValues<GroupCommitPoint>();

    private Tenant Tenant => new(host.Account.AccountId, false);

    /// <summary>A customer subscribed to 1,000 included units of a fresh metered feature.</summary>
    private async Task<(string Customer, string Feature)> Subscribed()
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var (feature, product, customer) = ($"calls_{suffix}", $"plan_{suffix}", $"gc_{suffix}");
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = feature, name = "Calls", type = "metered" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/products", new
        {
            id = product, name = "Plan", features = new[] { new { feature_id = feature, included = 1000, reset = "month" } },
        })).Status);
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Group commit" });
        Assert.Equal(HttpStatusCode.OK, (await host.Client().Post("/v1/subscribe", new { customer_id = customer, product_id = product })).Status);
        return (customer, feature);
    }

    private TrackOp Track(string customer, string feature, int units) =>
        new(Tenant, Wire.NewId("req"), host.Clock.GetUtcNow(), customer, feature, "", units * Kassa.Core.Balances.Micro.PerUnit, null, host.Clock.GetUtcNow());

    private async Task<(decimal Used, decimal Remaining, int Usage)> Balance(string customer, string feature)
    {
        var balances = (await host.Client().Get($"/v1/customers/{customer}/balances")).Body!["data"]!.AsArray();
        var b = balances.Single(x => (string?)x!["feature_id"] == feature)!;
        var log = (await host.Client().Get($"/v1/credit_transactions?customer_id={customer}&feature_id={feature}&limit=100")).Body!["data"]!.AsArray();
        var usage = log.Count(t => (string?)t!["source"]?["type"] == "usage");
        return ((decimal)b["used"]!, (decimal)b["remaining"]!, usage);
    }

    [Fact]
    public async Task A_batch_over_balances_the_writer_remembers_failed_at_any_point_is_applied_exactly_once()
    {
        foreach (var point in Points)
        {
            var (customer, feature) = await Subscribed();
            var faults = new GroupCommitFaults();
            var engine = new BalanceEngine(host.Store, host.Clock, faults);
            // A first batch leaves the balance in the writer's memory (SQLite, ADR 0021); the failed one decides from it.
            var first = Track(customer, feature, 2);
            await engine.CommitAsync([first]);
            Assert.True((await first.Completion).IsOk);
            var hits = engine.Cache?.Hits ?? 0;
            faults.Arm(GroupCommitLoop.Balances, point);
            var ops = new[] { Track(customer, feature, 5), Track(customer, feature, 7), Track(customer, feature, 11) };

            await engine.CommitAsync(ops);
            // And one after it: a rolled-back run's changes to memory must not be what it decides from.
            var last = Track(customer, feature, 1);
            await engine.CommitAsync([last]);

            Assert.Equal(0, faults.Pending);
            if (host.Engine == "sqlite") Assert.True(engine.Cache!.Hits > hits, $"{point}: the failed batch should have started from memory");
            Assert.Equal([993m, 986m, 975m], ops.Select(o => o.Completion.Result.Value.Balance!.Remaining).ToArray());
            Assert.Equal(974m, (await last.Completion).Value.Balance!.Remaining);
            Assert.Equal((26m, 974m, 5), await Balance(customer, feature));
        }
    }

    [Fact]
    public async Task A_balance_batch_failed_at_any_point_of_its_commit_is_applied_exactly_once()
    {
        foreach (var point in Points)
        {
            var (customer, feature) = await Subscribed();
            var faults = new GroupCommitFaults();
            var engine = new BalanceEngine(host.Store, host.Clock, faults);
            faults.Arm(GroupCommitLoop.Balances, point);
            var ops = new[] { Track(customer, feature, 5), Track(customer, feature, 7), Track(customer, feature, 11) };

            await engine.CommitAsync(ops);

            Assert.Equal(0, faults.Pending);
            foreach (var op in ops)
            {
                var result = await op.Completion;
                Assert.True(result.IsOk, $"{point}: {result.Error?.Code}");
            }
            // 23 units, once: never twice (a committed batch run again) and never zero (a rolled-back one lost).
            Assert.Equal((23m, 977m, 3), await Balance(customer, feature));
            // The answers are the decisions of the run that committed: the balance after each track in turn.
            Assert.Equal([995m, 988m, 977m], ops.Select(o => o.Completion.Result.Value.Balance!.Remaining).ToArray());
            var committedOnce = point is GroupCommitPoint.AtCommitCommitted or GroupCommitPoint.AfterCommit;
            Assert.Equal(committedOnce ? 0 : 1, engine.BatchesSplit);
            Assert.Equal(point is GroupCommitPoint.AtCommitCommitted or GroupCommitPoint.AtCommitRolledBack ? 1 : 0, engine.OutcomesResolved);
        }
    }

    [Fact]
    public async Task What_commits_with_a_decision_commits_in_its_transaction_exactly_once()
    {
        // The Idempotency-Key's stored answer rides on CommitWith: it must roll back and commit with the
        // batch, never on its own. A marker row stands in for it (a second insert would be refused).
        foreach (var point in Points)
        {
            var (customer, feature) = await Subscribed();
            var faults = new GroupCommitFaults();
            var engine = new BalanceEngine(host.Store, host.Clock, faults);
            faults.Arm(GroupCommitLoop.Balances, point);
            var ops = new[] { Track(customer, feature, 2), Track(customer, feature, 3) };
            var markers = ops.Select(_ => Wire.NewId("gcb")).ToArray();
            var seen = new string?[ops.Length];
            for (var i = 0; i < ops.Length; i++)
            {
                var (op, marker, slot) = (ops[i], markers[i], i);
                op.CommitWith = async s =>
                {
                    seen[slot] = op.Decision!.Value.Value.Id;
                    await s.GroupCommits.RecordAsync(marker, host.Clock.GetUtcNow());
                };
            }

            await engine.CommitAsync(ops);

            foreach (var op in ops) Assert.True((await op.Completion).IsOk, point.ToString());
            Assert.Equal((5m, 995m, 2), await Balance(customer, feature));
            // Each marker is there once (a fence finds it) and was written with the decision that committed.
            foreach (var marker in markers) Assert.False(await host.Store.WriteAsync(s => s.GroupCommits.FenceAsync(marker, host.Clock.GetUtcNow())), point.ToString());
            Assert.Equal(ops.Select(o => o.Completion.Result.Value.Id), seen);
        }
    }

    [Fact]
    public async Task A_lone_operation_that_failed_before_its_commit_changed_nothing_and_its_retry_applies_once()
    {
        foreach (var point in new[] { GroupCommitPoint.BeforeWrite, GroupCommitPoint.DuringWrite, GroupCommitPoint.AtCommitRolledBack })
        {
            var (customer, feature) = await Subscribed();
            var faults = new GroupCommitFaults();
            var engine = new BalanceEngine(host.Store, host.Clock, faults);
            faults.Arm(GroupCommitLoop.Balances, point);
            var first = Track(customer, feature, 5);

            await engine.CommitAsync([first]);

            var failure = await Assert.ThrowsAnyAsync<Exception>(() => first.Completion);
            Assert.IsType<InjectedFaultException>(failure);
            Assert.Equal((0m, 1000m, 0), await Balance(customer, feature));
            var retry = Track(customer, feature, 5);
            await engine.CommitAsync([retry]);
            Assert.True((await retry.Completion).IsOk);
            Assert.Equal((5m, 995m, 1), await Balance(customer, feature));
        }
    }

    [Fact]
    public async Task A_lone_operation_whose_commit_acknowledgement_was_lost_is_answered_with_its_committed_decision()
    {
        var (customer, feature) = await Subscribed();
        var faults = new GroupCommitFaults();
        var engine = new BalanceEngine(host.Store, host.Clock, faults);
        faults.Arm(GroupCommitLoop.Balances, GroupCommitPoint.AtCommitCommitted);
        var op = Track(customer, feature, 5);

        await engine.CommitAsync([op]);

        Assert.Equal(995m, (await op.Completion).Value.Balance!.Remaining);
        Assert.Equal((5m, 995m, 1), await Balance(customer, feature));
        Assert.Equal(1, engine.OutcomesResolved);
    }

    [Fact]
    public async Task A_write_the_database_refuses_fails_only_its_own_operation_and_the_rest_of_the_batch_commits_once()
    {
        // On PostgreSQL a batch's writes travel with its COMMIT (ADR 0005 addendum), so a refused write fails the COMMIT:
        // the marker then tells the batch rolled back, and each operation runs alone. On SQLite the write fails where it
        // is made. Either way only the refused operation fails and every other one is applied exactly once.
        var subscribed = new List<(string Customer, string Feature)>();
        for (var i = 0; i < 3; i++) subscribed.Add(await Subscribed());
        var poisoned = subscribed[1].Customer;
        var postgres = host.Engine == "postgres";
        var trigger = $"refuse_{Guid.NewGuid():N}"[..20];
        await host.Store.WriteAsync(async s =>
        {
            var (c, tx) = (((Kassa.Storage.ISqlAccess)s).Connection, ((Kassa.Storage.ISqlAccess)s).Transaction);
            if (postgres)
            {
                await Dapper.SqlMapper.ExecuteAsync(c, $"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$", transaction: tx);
                await Dapper.SqlMapper.ExecuteAsync(c, $"CREATE TRIGGER {trigger} BEFORE UPDATE ON balance_buckets FOR EACH ROW WHEN (NEW.customer_id = '{poisoned}') EXECUTE FUNCTION {trigger}()", transaction: tx);
            }
            else await Dapper.SqlMapper.ExecuteAsync(c, $"CREATE TRIGGER {trigger} BEFORE UPDATE ON balance_buckets WHEN NEW.customer_id = '{poisoned}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END", transaction: tx);
            return true;
        });
        try
        {
            var engine = new BalanceEngine(host.Store, host.Clock, new GroupCommitFaults());
            var ops = subscribed.Select(x => Track(x.Customer, x.Feature, 5)).ToArray();

            await engine.CommitAsync(ops);

            await Assert.ThrowsAnyAsync<Exception>(() => ops[1].Completion);
            Assert.Equal(995m, (await ops[0].Completion).Value.Balance!.Remaining);
            Assert.Equal(995m, (await ops[2].Completion).Value.Balance!.Remaining);
            Assert.Equal((5m, 995m, 1), await Balance(subscribed[0].Customer, subscribed[0].Feature));
            Assert.Equal((0m, 1000m, 0), await Balance(subscribed[1].Customer, subscribed[1].Feature));
            Assert.Equal((5m, 995m, 1), await Balance(subscribed[2].Customer, subscribed[2].Feature));
            Assert.Equal(1, engine.BatchesSplit);
            // Refused inside the COMMIT's round trip on PostgreSQL: the outcome is looked up by the marker, for the batch
            // and again for the refused operation run alone.
            Assert.Equal(postgres ? 2 : 0, engine.OutcomesResolved);
        }
        finally
        {
            await host.Store.WriteAsync(async s =>
            {
                var access = (Kassa.Storage.ISqlAccess)s;
                await Dapper.SqlMapper.ExecuteAsync(access.Connection, postgres ? $"DROP TRIGGER {trigger} ON balance_buckets; DROP FUNCTION {trigger}()" : $"DROP TRIGGER {trigger}",
                    transaction: access.Transaction);
                return true;
            });
        }
    }

    [Fact]
    public async Task Several_postgres_writer_loops_shard_customers_and_apply_each_operation_exactly_once()
    {
        // A machine of up to two cores runs one PostgreSQL balance loop by default (BalanceEngine.WritersPostgres), so the
        // sharded loops a larger machine or KASSA_BALANCE_WRITERS runs are exercised here with four. SQLite keeps one.
        var subscribed = new List<(string Customer, string Feature)>();
        for (var i = 0; i < 6; i++) subscribed.Add(await Subscribed());
        var engine = new BalanceEngine(host.Store, host.Clock, new GroupCommitFaults(), writersPostgres: 4);
        Assert.Equal(host.Engine == "postgres" ? 4 : 1, engine.Writers);
        using var stop = new CancellationTokenSource();
        var loops = engine.RunAsync(stop.Token);
        var ops = Enumerable.Range(0, 10).SelectMany(_ => subscribed.Select(x => Track(x.Customer, x.Feature, 5))).ToArray();

        foreach (var op in ops) Assert.True(engine.TryEnqueue(op));
        // Bounded: an operation a loop never took fails the test instead of hanging it.
        var answers = await Task.WhenAll(ops.Select(o => o.Completion)).WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await loops;

        Assert.All(answers, a => Assert.True(a.IsOk));
        // A customer's tracks meet in one loop, each decided on what the one before it left: the ten answers of a
        // customer say 995, 990 … 950 remaining, each once (a track decided twice, or on a stale balance, would repeat one).
        var expected = Enumerable.Range(1, 10).Select(i => 1000m - 5 * i).ToArray();
        foreach (var (customer, _) in subscribed)
        {
            var remaining = ops.Zip(answers).Where(x => x.First.CustomerId == customer).Select(x => x.Second.Value.Balance!.Remaining).OrderDescending();
            Assert.Equal(expected, remaining.ToArray());
        }
        foreach (var (customer, feature) in subscribed) Assert.Equal((50m, 950m, 10), await Balance(customer, feature));
        Assert.Equal(60, engine.Operations);
        Assert.Equal(0, engine.BatchesSplit);
    }

    [Fact]
    public async Task A_batch_over_more_than_two_hundred_features_finds_every_one_of_them()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var customer = $"many_{suffix}";
        await host.Client().Put($"/v1/customers/{customer}", new { name = "Many features" });
        var features = Enumerable.Range(0, 205).Select(i => $"f{i}_{suffix}").ToList();
        foreach (var f in features)
            Assert.Equal(HttpStatusCode.Created, (await host.Client().Post("/v1/features", new { id = f, name = f, type = "metered" })).Status);
        var engine = new BalanceEngine(host.Store, host.Clock, new GroupCommitFaults());
        var ops = features.Select(f => new CheckOp(Tenant, Wire.NewId("req"), host.Clock.GetUtcNow(), customer, f, "", Kassa.Core.Balances.Micro.PerUnit,
            sendEvent: true, lockExpiresAt: null, idempotencyKey: null)).ToList();

        await engine.CommitAsync(ops);

        // Every feature exists and the customer has none of them: no_access for all, never feature_not_found.
        var codes = ops.Select(o => o.Completion.Result.Value.Code).Distinct().ToList();
        Assert.Equal(["no_access"], codes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_fence_waits_for_a_batch_transaction_still_open_and_then_tells_its_outcome(bool batchCommits)
    {
        host.RequireEngine();
        var batchId = Wire.NewId("gcb");
        var now = host.Clock.GetUtcNow();
        var recorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The batch's transaction: marker written, then held open (as when its connection dropped mid-COMMIT
        // and the server has not ended it yet).
        var batch = host.Store.WriteAsync(async s =>
        {
            await s.GroupCommits.RecordAsync(batchId, now);
            // On PostgreSQL the marker rides with the batch's writes: these (none) send it, as a batch's would.
            await s.Balances.WriteTogetherAsync(() => Task.CompletedTask);
            recorded.SetResult();
            await finish.Task;
            return batchCommits;
        }, commitIf: commit => commit);
        await recorded.Task;

        var fence = host.Store.WriteAsync(s => s.GroupCommits.FenceAsync(batchId, now));
        await Task.Delay(300);
        Assert.False(fence.IsCompleted, "the fence must wait for the open batch transaction");
        finish.SetResult();
        await batch;

        // Committed: the marker is found (false). Rolled back: the fence is stored (true), and the batch can never commit.
        Assert.Equal(!batchCommits, await fence);
        Assert.False(await host.Store.WriteAsync(s => s.GroupCommits.FenceAsync(batchId, now)));
    }

    [Fact]
    public async Task Markers_made_before_a_time_are_purged_by_their_ids_oldest_first_and_later_ones_stay()
    {
        // Times long before any test's clock, so no other test's marker is below the cutoff.
        var day = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var cutoff = day.AddDays(2);
        var (oldest, older, kept) = (Ids.New(IdPrefixes.GroupCommit, day), Ids.New(IdPrefixes.GroupCommit, day.AddHours(30)), Ids.New(IdPrefixes.GroupCommit, cutoff));
        Task<int> Purge(int max) => host.Store.WriteAsync(s => s.GroupCommits.PurgeAsync(cutoff, max));
        Task<bool> Fence(string id) => host.Store.WriteAsync(s => s.GroupCommits.FenceAsync(id, cutoff));
        // A database kept between runs (a long-lived PostgreSQL) holds the rows earlier runs of this test left below
        // the cutoff (three a run): cleared first, so the counts below are this run's.
        await Purge(1_000);
        Assert.Equal(0, await Purge(1_000));
        foreach (var (id, at) in new[] { (oldest, day), (older, day.AddHours(30)), (kept, cutoff) })
        {
            await host.Store.WriteAsync(async s =>
            {
                await s.GroupCommits.RecordAsync(id, at);
                await s.Balances.WriteTogetherAsync(() => Task.CompletedTask);
                return true;
            });
        }

        // One at a time, the oldest first: the next one is still there (a fence finds it).
        Assert.Equal(1, await Purge(1));
        Assert.False(await Fence(older));
        Assert.Equal(1, await Purge(10));
        Assert.Equal(0, await Purge(10));
        // The purged ones are gone (a fence is stored for each); the one made at the cutoff stays.
        Assert.True(await Fence(oldest));
        Assert.True(await Fence(older));
        Assert.False(await Fence(kept));
    }

    private async Task<string> CountMeter(string eventName)
    {
        var id = Wire.NewId("m");
        var r = await host.Client().Post("/v1/meters", new { id, name = "M", event_name = eventName, aggregation = "count" });
        Assert.True(r.Status == HttpStatusCode.Created, r.Body?.ToJsonString());
        return id;
    }

    private (OperationContext, IngestMeterEvents.Prepared) Request(string eventName, string customer, params string[] ids)
    {
        var now = host.Clock.GetUtcNow();
        // Event ids are unique per account: the test's own ids are scoped to this (fresh) customer.
        var events = ids.Select(id => JsonSerializer.SerializeToElement(new
        {
            id = $"{customer}_{id}", event_name = eventName, customer_id = customer, timestamp = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), properties = new { },
        })).ToList();
        return (new OperationContext(Tenant, Actor.System, Wire.NewId("req"), now), IngestMeterEvents.Prepare(events, now));
    }

    private async Task<decimal> Count(string meter, string customer)
    {
        var now = host.Clock.GetUtcNow();
        var from = new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero);
        var r = await host.Client().Get($"/v1/meters/{meter}/usage?customer_id={customer}&from={from:yyyy-MM-dd'T'HH:mm:ss'Z'}&to={from.AddDays(1):yyyy-MM-dd'T'HH:mm:ss'Z'}");
        Assert.True(r.Status == HttpStatusCode.OK, r.Body?.ToJsonString());
        var data = r.Body!["data"]!.AsArray();
        return data.Sum(d => (decimal)d!["value"]!);
    }

    [Fact]
    public async Task A_shared_ingest_transaction_failed_at_any_point_of_its_commit_stores_and_answers_each_event_once()
    {
        foreach (var point in Points)
        {
            var name = Wire.NewId("ev");
            var meter = await CountMeter(name);
            var customer = Wire.NewId();
            var faults = new GroupCommitFaults();
            var queue = new IngestQueue(host.Store, host.Clock, faults);
            faults.Arm(GroupCommitLoop.Ingest, point);

            var answers = await queue.CommitTogetherAsync([Request(name, customer, "a1", "a2"), Request(name, customer, "b1", "b2", "b3")]);

            Assert.Equal(0, faults.Pending);
            var results = await Task.WhenAll(answers);
            // Each request is told what it stored: a committed transaction run again would answer "duplicates".
            Assert.Equal([(2L, 0L), (3L, 0L)], results.Select(a => (a.Accepted, a.Duplicates)).ToArray());
            Assert.Equal(5m, await Count(meter, customer));
            var committedOnce = point is GroupCommitPoint.AtCommitCommitted or GroupCommitPoint.AfterCommit;
            Assert.Equal(committedOnce ? 0 : 1, queue.BatchesSplit);
        }
    }

    [Fact]
    public async Task A_feature_linked_meter_moves_the_balance_once_when_the_ingest_commit_acknowledgement_is_lost()
    {
        var (customer, feature) = await Subscribed();
        var name = Wire.NewId("ev");
        var r = await host.Client().Post("/v1/meters", new { id = Wire.NewId("m"), name = "M", event_name = name, aggregation = "count", feature_id = feature });
        Assert.Equal(HttpStatusCode.Created, r.Status);
        var faults = new GroupCommitFaults();
        var queue = new IngestQueue(host.Store, host.Clock, faults);
        faults.Arm(GroupCommitLoop.Ingest, GroupCommitPoint.AtCommitCommitted);

        var answers = await queue.CommitTogetherAsync([Request(name, customer, "x1", "x2", "x3")]);

        Assert.Equal(3, (await answers[0]).Accepted);
        Assert.Equal((3m, 997m, 3), await Balance(customer, feature));
    }
}

public sealed class GroupCommitFailureTestsSqlite(SqliteHost host) : GroupCommitFailureTests(host), IClassFixture<SqliteHost>;

public sealed class GroupCommitFailureTestsPostgres(PostgresHost host) : GroupCommitFailureTests(host), IClassFixture<PostgresHost>;
