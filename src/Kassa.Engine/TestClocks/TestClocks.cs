using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Paging;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.TestClocks;

/// <summary>A test clock as the API shows it (spec §11).</summary>
public sealed record TestClockResource(string Id, string? Name, DateTimeOffset FrozenTime, string Status, DateTimeOffset CreatedAt, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "test_clock";

    public static TestClockResource From(TestClockRecord c) => new(c.Id, c.Name, c.FrozenTime, c.Status, c.CreatedAt, c.Livemode);
}

/// <summary><c>POST /v1/test_clocks {name, frozen_time}</c>: test mode only.</summary>
public static class CreateTestClock
{
    public const int NameLengthMax = 200;

    public sealed record Request(string? Name, DateTimeOffset? FrozenTime);

    public static async Task<Result<TestClockResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (op.Tenant.Livemode) return new KassaError(ErrorCodes.TestModeOnly, "Test clocks exist in test mode only; use a test key");
        if (r.FrozenTime is not { } frozen) return KassaError.Missing("frozen_time");
        if (Rules.Text(r.Name, NameLengthMax) is { } problem) return KassaError.Validation("name", problem);
        var clock = new TestClockRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.TestClock), r.Name, frozen.ToUniversalTime(),
            TestClockRules.Ready, op.Now, null);
        await s.TestClocks.InsertAsync(clock);
        return TestClockResource.From(clock);
    }
}

/// <summary><c>GET /v1/test_clocks/{id}</c>, list, and <c>DELETE</c> (the clock is gone; its customers keep the time it had).</summary>
public static class ReadTestClocks
{
    public static async Task<Result<TestClockResource>> Get(IStoreSession s, Tenant tenant, string id) =>
        await s.TestClocks.GetAsync(tenant, id) is { } c ? TestClockResource.From(c) : KassaError.NotFound("test_clock", id);

    public static async Task<Result<Page<TestClockResource>>> List(IStoreSession s, Tenant tenant, PageRequest page)
    {
        var rows = await s.TestClocks.ListAsync(tenant, page.After, page.Limit + 1);
        return page.Build(rows, c => new Cursor(Micros.From(c.CreatedAt), c.Id), TestClockResource.From);
    }

    public static async Task<Result<TestClockResource>> Delete(IStoreSession s, OperationContext op, string id)
    {
        var clock = await s.TestClocks.GetAsync(op.Tenant, id, forUpdate: true);
        if (clock is null) return KassaError.NotFound("test_clock", id);
        var deleted = clock with { DeletedAt = op.Now };
        await s.TestClocks.UpdateAsync(deleted);
        return TestClockResource.From(deleted);
    }
}

public static class TestClockRules
{
    public const string Ready = "ready";
    public const string Advancing = "advancing";
    public static readonly IReadOnlyList<string> Statuses = [Ready, Advancing];

    /// <summary>The furthest one advance may move a clock: two years of renewals is already thousands of steps for a busy clock.</summary>
    public static readonly TimeSpan AdvanceMax = TimeSpan.FromDays(2 * 366);

    /// <summary>
    /// The operation as a customer on a clock sees it: at the clock's frozen time. Customers without a
    /// clock (and clocks deleted since) see the operation's own time.
    /// </summary>
    public static async Task<OperationContext> ForCustomerAsync(IStoreSession s, OperationContext op, string? testClockId) =>
        testClockId is not null && await s.TestClocks.GetAsync(op.Tenant, testClockId) is { } clock ? op.At(clock.FrozenTime) : op;
}
