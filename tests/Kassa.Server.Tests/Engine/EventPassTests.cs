using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Server.Tests.Engine;

/// <summary>
/// A meter pipeline pass holds its events as rows over shared tables (EventPass): every field must come back
/// exactly, repeated strings must be one copy, the rows and text must survive growing past their first arrays, and
/// the ranks the indexer sorts by must order exactly as the strings do.
/// </summary>
public sealed class EventPassTests
{
    [Fact]
    public void Every_field_comes_back_and_repeated_strings_are_one_copy()
    {
        using var pass = new EventPass();
        pass.Add(7, "acct_b", true, "llm", "cus_1", 1_000_001, 2_000_002, "{\"tokens\":5}");
        // New string instances with the same text, as a reader makes them.
        pass.Add(7, new string("acct_b".AsSpan()), true, new string("llm".AsSpan()), new string("cus_1".AsSpan()), 3, 4, "");
        pass.Add(9, "acct_a", false, "search", "cus_2", -5, 6, "mev_1");
        pass.Add(10, "acct_b", false, "llm", "cus_1", 8, 9, "ü€");

        Assert.Equal(4, pass.Count);
        Assert.Equal([new Tenant("acct_b", true), new Tenant("acct_a", false), new Tenant("acct_b", false)], pass.Tenants);
        var first = pass[0];
        Assert.Equal((7L, 0, 1_000_001L, 2_000_002L), (first.Position, first.Tenant, first.TsMicros, first.ReceivedMicros));
        Assert.Equal("llm", pass.Text(first.EventName));
        Assert.Equal("cus_1", pass.Text(first.Customer));
        Assert.Equal("{\"tokens\":5}", pass.OwnText(first).ToString());
        Assert.Equal("{\"tokens\":5}", pass.OwnTextMemory(first).ToString());
        var second = pass[1];
        Assert.Equal((first.Tenant, first.EventName, first.Customer), (second.Tenant, second.EventName, second.Customer));
        Assert.Equal(0, pass.OwnText(second).Length);
        Assert.Same(pass.Text(first.Customer), pass.Text(second.Customer));
        Assert.Same(pass.Tenants[0].AccountId, pass.Tenants[2].AccountId);
        var third = pass[2];
        Assert.Equal((9L, 1, -5L, 6L, "search", "cus_2", "mev_1"),
            (third.Position, third.Tenant, third.TsMicros, third.ReceivedMicros, pass.Text(third.EventName), pass.Text(third.Customer), pass.OwnText(third).ToString()));
        Assert.Equal("ü€", pass.OwnText(pass[3]).ToString());
        Assert.Equal(2, pass[3].Tenant);
        Assert.Throws<ArgumentOutOfRangeException>(() => pass[4]);
    }

    [Fact]
    public void Rows_and_text_survive_growing_and_truncating()
    {
        using var pass = new EventPass();
        // Past the first row array (1,024) and text buffer (64 Ki characters) several times over.
        const int rows = 5_000;
        for (var i = 0; i < rows; i++) pass.Add(i, "acct_1", false, "e", $"cus_{i % 37}", i * 10L, i, new string((char)('a' + i % 26), i % 50));
        Assert.Equal(rows, pass.Count);
        for (var i = 0; i < rows; i++)
        {
            var r = pass[i];
            Assert.Equal((long)i, r.Position);
            Assert.Equal(i * 10L, r.TsMicros);
            Assert.Equal($"cus_{i % 37}", pass.Text(r.Customer));
            Assert.Equal(new string((char)('a' + i % 26), i % 50), pass.OwnText(r).ToString());
        }
        pass.Truncate(3);
        Assert.Equal(3, pass.Count);
        // Text added after a truncation follows the rows kept, not the rows dropped.
        pass.Add(99, "acct_1", false, "e", "cus_new", 1, 1, "tail");
        Assert.Equal(4, pass.Count);
        Assert.Equal("tail", pass.OwnText(pass[3]).ToString());
        Assert.Equal(pass[2].TextStart + pass[2].TextLength, pass[3].TextStart);
        Assert.Equal("cc", pass.OwnText(pass[2]).ToString());
    }

    [Fact]
    public void Ranks_order_as_the_strings_do_ordinally()
    {
        using var pass = new EventPass();
        // Upper case before lower, digits before letters, a prefix before its extensions: ordinal, not culture order.
        string[] customers = ["cus_b", "cus_B", "cus_10", "cus_1", "cus_a", "Cus_z", "cus_1a"];
        foreach (var c in customers) pass.Add(1, "acct_x", false, "e", c, 0, 0, "");
        pass.Add(1, "acct_a", true, "e", "cus_1", 0, 0, "");
        pass.Add(1, "acct_a", false, "e", "cus_1", 0, 0, "");
        var ranks = pass.TextRanks();
        var byRank = Enumerable.Range(0, pass.Count).Select(i => pass[i].Customer).Distinct().OrderBy(id => ranks[id]).Select(pass.Text).ToList();
        Assert.Equal(customers.Order(StringComparer.Ordinal).ToList(), byRank);
        var tenantRanks = pass.TenantRanks();
        var tenants = Enumerable.Range(0, pass.Tenants.Count).OrderBy(t => tenantRanks[t]).Select(t => pass.Tenants[t]).ToList();
        Assert.Equal([new Tenant("acct_a", false), new Tenant("acct_a", true), new Tenant("acct_x", false)], tenants);
    }

    [Fact]
    public void A_disposed_pass_has_no_rows_and_takes_none()
    {
        var pass = new EventPass();
        pass.Add(1, "acct_1", false, "e", "cus_1", 0, 0, "x");
        pass.Dispose();
        pass.Dispose();
        Assert.Equal(0, pass.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => pass[0]);
        Assert.Throws<ObjectDisposedException>(() => pass.Add(2, "acct_1", false, "e", "cus_1", 0, 0, "y"));
    }
}
