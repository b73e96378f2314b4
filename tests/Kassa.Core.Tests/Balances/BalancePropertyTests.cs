using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Balances;
using static Kassa.Core.Tests.Balances.Fixtures;

namespace Kassa.Core.Tests.Balances;

/// <summary>
/// Random sequences of balance operations never create or lose a micro-unit: the only way units
/// enter is a grant, the only way granted units leave is a void, and usage changes only by what
/// Consume/Confirm took and Correct gave back.
/// </summary>
public class BalancePropertyTests
{
    private abstract record Op;
    private sealed record AddGrant(long Amount, int Priority, bool Paid, int ExpiresInHours, int EffectiveInHours) : Op;
    private sealed record ConsumeOp(long Amount) : Op;
    private sealed record HoldOp(long Amount, bool AllowOverage) : Op;
    private sealed record ReleaseOp(int Pick) : Op;
    private sealed record ConfirmOp(int Pick, long Consume) : Op;
    private sealed record CorrectOp(long Amount) : Op;
    private sealed record VoidOp(int Pick) : Op;
    private sealed record AdvanceOp(int Hours) : Op;

    private sealed record InitialBucket(long Granted, long Used, int Priority, bool Paid, int ExpiresInHours);

    private sealed record Scenario(InitialBucket[] Initial, long Overage, Op[] Ops)
    {
        public override string ToString() =>
            $"initial=[{string.Join("; ", Initial.Select(b => b.ToString()))}] overage={Overage}\nops=[\n  {string.Join("\n  ", Ops.Select(o => o.ToString()))}]";
    }

    // Amounts up to 30 units with every micro digit in play; 0 is included on purpose (a no-op).
    private static readonly Gen<long> Amount = Gen.Choose(0, 30_000_000).Select(i => (long)i);
    private static readonly Gen<int> Pick = Gen.Choose(0, 1000);

    private static readonly Gen<Op> OpGen = Gen.Frequency(
        (2, from amount in Gen.Choose(1, 40_000_000)
            from priority in Gen.Elements(new[] { 0, 5, 10, 10 })
            from paid in Gen.Elements(new[] { false, true })
            from expires in Gen.Choose(0, 72) // 0 = never
            from effective in Gen.Choose(-2, 3)
            select (Op)new AddGrant(amount, priority, paid, expires, effective)),
        (4, Amount.Select(a => (Op)new ConsumeOp(a))),
        (3, from amount in Amount from allow in Gen.Elements(new[] { false, true }) select (Op)new HoldOp(amount, allow)),
        (2, Pick.Select(p => (Op)new ReleaseOp(p))),
        (2, from p in Pick from c in Amount select (Op)new ConfirmOp(p, c)),
        (2, Amount.Select(a => (Op)new CorrectOp(a))),
        (1, Pick.Select(p => (Op)new VoidOp(p))),
        (2, Gen.Choose(1, 30).Select(h => (Op)new AdvanceOp(h))));

    private static readonly Gen<InitialBucket> InitialGen =
        from granted in Gen.Choose(0, 20_000_000)
        from usedShare in Gen.Choose(0, 100)
        from priority in Gen.Elements(new[] { 0, 10 })
        from paid in Gen.Elements(new[] { false, true })
        from expires in Gen.Choose(0, 48)
        select new InitialBucket(granted, granted * (long)usedShare / 100, priority, paid, expires);

    private static readonly Gen<Scenario> ScenarioGen =
        from initialCount in Gen.Choose(0, 4)
        from initial in Gen.ArrayOf(InitialGen, initialCount)
        from overage in Gen.Elements(new[] { 0L, 0L, 1L, 2_500_000L })
        from opCount in Gen.Choose(1, 40)
        from ops in Gen.ArrayOf(OpGen, opCount)
        select new Scenario(initial, overage, ops);

    [Fact]
    public void Random_operation_sequences_conserve_every_unit() => ForAllScenarios(Run);

    /// <summary>Runs <paramref name="run"/> (which asserts) on 300 random scenarios; a failing one is shrunk and reported.</summary>
    private static void ForAllScenarios(Action<Scenario> run) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(ScenarioGen.ToArbitrary(), scenario =>
        {
            run(scenario);
            return true;
        }));

    private static void Run(Scenario scenario)
    {
        var now = T0;
        var initial = InitialBuckets(scenario);
        var balance = new FeatureBalance(initial, scenario.Overage);

        var grantedIn = initial.Sum(b => b.Granted);
        var usageStart = TotalUsage(balance);
        long consumedByParts = 0, correctedByParts = 0, voidedByReturn = 0;
        var holds = new List<IReadOnlyList<Part>>();
        var movementsSeen = 0;
        var added = 0;

        foreach (var op in scenario.Ops)
        {
            var movementsBefore = balance.Movements.Count;
            var overageBefore = balance.Overage;
            switch (op)
            {
                case AddGrant g:
                    var bucket = new Bucket($"g{added++:D3}", BucketKind.Grant, g.Priority, g.Paid ? GrantCategory.Paid : GrantCategory.Promotional,
                        g.Amount, 0, 0, now.AddHours(g.EffectiveInHours), g.ExpiresInHours == 0 ? null : now.AddHours(g.ExpiresInHours), now);
                    balance.Add(bucket);
                    grantedIn += g.Amount;
                    break;
                case ConsumeOp c:
                {
                    var parts = balance.Consume(c.Amount, now);
                    Assert.Equal(c.Amount, parts.Sum(p => p.Amount));
                    consumedByParts += c.Amount;
                    // Overage only once nothing usable is left.
                    if (parts.Any(p => p.BucketId is null)) Assert.Equal(0, balance.Remaining(now));
                    break;
                }
                case HoldOp h:
                {
                    var before = Snapshot(balance);
                    var remaining = balance.Remaining(now);
                    var parts = balance.TryHold(h.Amount, now, h.AllowOverage);
                    if (parts is null)
                    {
                        Assert.False(h.AllowOverage);
                        Assert.True(h.Amount > remaining);
                        Assert.Equal(before, Snapshot(balance));
                        Assert.Equal(movementsBefore, balance.Movements.Count);
                    }
                    else
                    {
                        Assert.Equal(h.Amount, parts.Sum(p => p.Amount));
                        Assert.Equal(overageBefore, balance.Overage);
                        Assert.Equal(Math.Max(0, remaining - h.Amount), balance.Remaining(now));
                        holds.Add(parts);
                    }
                    break;
                }
                case ReleaseOp r when holds.Count > 0:
                {
                    var index = r.Pick % holds.Count;
                    balance.Release(holds[index]);
                    holds.RemoveAt(index);
                    break;
                }
                case ConfirmOp c when holds.Count > 0:
                {
                    var index = c.Pick % holds.Count;
                    var parts = balance.Confirm(holds[index], c.Consume, now);
                    holds.RemoveAt(index);
                    Assert.Equal(c.Consume, parts.Sum(p => p.Amount));
                    Assert.Equal(parts.Count, parts.Select(p => p.BucketId).Distinct().Count());
                    consumedByParts += c.Consume;
                    break;
                }
                case CorrectOp c:
                {
                    var parts = balance.Correct(c.Amount, now);
                    var back = parts.Sum(p => p.Amount);
                    Assert.True(back <= c.Amount);
                    if (back < c.Amount)
                    {
                        // Short only when there is no usage left to give back.
                        Assert.Equal(0, balance.Overage);
                        Assert.All(balance.Buckets.Where(b => !b.Voided), b => Assert.Equal(0, b.Used));
                    }
                    correctedByParts += back;
                    break;
                }
                case VoidOp v when balance.Buckets.Count > 0:
                    voidedByReturn += balance.Void(balance.Buckets[v.Pick % balance.Buckets.Count].Id);
                    break;
                case AdvanceOp a:
                {
                    now = now.AddHours(a.Hours);
                    var expired = balance.ExpireDue(now);
                    Assert.All(expired, p => Assert.True(balance.Find(p.BucketId!)!.ExpiryRecorded));
                    Assert.Empty(balance.ExpireDue(now));
                    break;
                }
            }

            var movements = balance.Movements;
            Assert.All(movements.Skip(movementsSeen), m => Assert.True(m.Amount > 0, $"movement {m}"));
            movementsSeen = movements.Count;

            // Every bucket keeps its invariants.
            foreach (var b in balance.Buckets)
            {
                Assert.True(b.Used >= 0 && b.Held >= 0 && b.Remaining >= 0, b.ToString());
                Assert.Equal(b.Granted - b.Used - b.Held, b.Remaining);
            }
            Assert.True(balance.Overage >= 0);

            // Conservation: Σ granted in − Σ voided = Σ (used + held + remaining) over all buckets.
            var voidMoves = Sum(movements, MovementType.Void);
            Assert.Equal(grantedIn - voidMoves, balance.Buckets.Sum(b => b.Used + b.Held + b.Remaining));
            // Every void removal is in the log: Void() returns plus what returned to voided buckets later.
            Assert.True(voidMoves >= voidedByReturn);

            // Usage changes only by what was consumed and what corrections gave back, by parts and by log.
            var usageChange = TotalUsage(balance) - usageStart;
            Assert.Equal(consumedByParts - correctedByParts, usageChange);
            Assert.Equal(Sum(movements, MovementType.Consume) - Sum(movements, MovementType.Adjust), usageChange);

            // What is held is exactly what the open locks hold on buckets.
            Assert.Equal(holds.Sum(h => h.Where(p => p.BucketId is not null).Sum(p => p.Amount)), balance.Buckets.Sum(b => b.Held));

            // Totals as of now agree with the buckets.
            Assert.Equal(balance.Granted(now) - balance.Used(now) - balance.Held(now), balance.Remaining(now));
        }
    }

    /// <summary>
    /// A balance restored from its buckets (<see cref="FeatureBalance.Restore"/>, the balance writer's memory: no index by id
    /// until an operation names a bucket) decides every operation exactly as one built by the constructor: the same parts,
    /// the same movements, the same numbers in every bucket, step by step.
    /// </summary>
    [Fact]
    public void A_restored_balance_decides_exactly_as_a_constructed_one() => ForAllScenarios(RunTwins);

    private static void RunTwins(Scenario scenario)
    {
        var now = T0;
        // Each twin its own bucket objects, equal in every number.
        var built = new FeatureBalance(InitialBuckets(scenario), scenario.Overage);
        var restored = FeatureBalance.Restore([.. InitialBuckets(scenario)], scenario.Overage);
        var holds = new List<IReadOnlyList<Part>>();
        var added = 0;
        foreach (var op in scenario.Ops)
        {
            IReadOnlyList<Part>? held = null;
            string Held(FeatureBalance balance, IReadOnlyList<Part>? parts)
            {
                // The constructed twin's parts are the lock's (the restored twin's must show the same).
                if (ReferenceEquals(balance, built)) held = parts;
                return parts is null ? "refused" : Show(parts);
            }
            string Apply(FeatureBalance balance) => op switch
            {
                AddGrant g => Added(balance, new Bucket($"g{added:D3}", BucketKind.Grant, g.Priority, g.Paid ? GrantCategory.Paid : GrantCategory.Promotional,
                    g.Amount, 0, 0, now.AddHours(g.EffectiveInHours), g.ExpiresInHours == 0 ? null : now.AddHours(g.ExpiresInHours), now)),
                ConsumeOp c => Show(balance.Consume(c.Amount, now)),
                HoldOp h => Held(balance, balance.TryHold(h.Amount, now, h.AllowOverage)),
                ReleaseOp r when holds.Count > 0 => Released(balance, holds[r.Pick % holds.Count]),
                ConfirmOp c when holds.Count > 0 => Show(balance.Confirm(holds[c.Pick % holds.Count], c.Consume, now)),
                CorrectOp c => Show(balance.Correct(c.Amount, now)),
                VoidOp v when balance.Buckets.Count > 0 => balance.Void(balance.Buckets[v.Pick % balance.Buckets.Count].Id).ToString(),
                AdvanceOp a => Show(balance.ExpireDue(now.AddHours(a.Hours))),
                _ => "skipped",
            };
            Assert.Equal(Apply(built), Apply(restored));
            switch (op)
            {
                case AddGrant: added++; break;
                case AdvanceOp a: now = now.AddHours(a.Hours); break;
                case HoldOp when held is not null: holds.Add(held); break;
                case ReleaseOp r when holds.Count > 0: holds.RemoveAt(r.Pick % holds.Count); break;
                case ConfirmOp c when holds.Count > 0: holds.RemoveAt(c.Pick % holds.Count); break;
            }
            Assert.Equal(State(built), State(restored));
        }
    }

    private static List<Bucket> InitialBuckets(Scenario scenario) => scenario.Initial.Select((b, i) => new Bucket($"i{i}",
        b.Priority == 0 ? BucketKind.Allowance : BucketKind.Grant, b.Priority, b.Paid ? GrantCategory.Paid : GrantCategory.Promotional, b.Granted, b.Used,
        0, T0, b.ExpiresInHours == 0 ? null : T0.AddHours(b.ExpiresInHours), T0.AddTicks(-i))).ToList();

    private static string Added(FeatureBalance balance, Bucket bucket)
    {
        balance.Add(bucket);
        return "added";
    }

    private static string Released(FeatureBalance balance, IReadOnlyList<Part> hold)
    {
        balance.Release(hold);
        return "released";
    }

    private static string State(FeatureBalance balance) =>
        $"overage={balance.Overage} movements=[{string.Join(",", balance.Movements)}] buckets=[" +
        string.Join(",", balance.Buckets.Select(b => $"{b.Id}:{b.Granted}/{b.Used}/{b.Held}/{b.Voided}/{b.ExpiryRecorded}")) + "]";

    [Fact]
    public void A_restored_balance_refuses_a_duplicate_id_when_added_and_when_first_looked_up()
    {
        var restored = FeatureBalance.Restore([Grant("a", 1_000_000), Grant("b", 2_000_000)], 0);
        // No index yet: the added bucket is compared with each, and nothing changes when it is refused.
        Assert.Throws<ArgumentException>(() => restored.Add(Grant("b", 5_000_000)));
        Assert.Equal(["a", "b"], restored.Buckets.Select(b => b.Id));
        Assert.Empty(restored.Movements);
        Assert.Equal(3_000_000, restored.Remaining(T0));
        // Once the index exists (a lookup by id built it), it is what refuses.
        Assert.Equal(2_000_000, restored.Find("b")!.Granted);
        Assert.Throws<ArgumentException>(() => restored.Add(Grant("a", 5_000_000)));
        Assert.Equal(2, restored.Buckets.Count);

        var twice = FeatureBalance.Restore([Grant("x", 1), Grant("x", 2)], 0);
        Assert.Throws<InvalidOperationException>(() => twice.Find("x"));
        Assert.Throws<ArgumentNullException>(() => FeatureBalance.Restore([Grant("x", 1), null!], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureBalance.Restore([], -1));
    }

    private static long TotalUsage(FeatureBalance balance) => balance.Buckets.Sum(b => b.Used) + balance.Overage;

    private static long Sum(IEnumerable<Movement> movements, MovementType type) => movements.Where(m => m.Type == type).Sum(m => m.Amount);
}
