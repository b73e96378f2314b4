using Kassa.Engine.Common;

namespace Kassa.Server.Tests.Engine;

/// <summary>
/// Ids draw their random part from a per-thread buffer of the system generator: each byte used once, so ids
/// made at the same millisecond on any thread, across buffer refills, never repeat.
/// </summary>
public sealed class IdsTests
{
    [Fact]
    public async Task Ids_of_one_millisecond_never_repeat_across_threads_and_refills()
    {
        var at = DateTimeOffset.Parse("2026-12-02T12:00:00Z");
        const int perThread = 1000; // past the buffer's 64 ids: fifteen refills a thread
        var made = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Enumerable.Range(0, perThread).Select(_ => Ids.New("cus", at)).ToList())));
        var all = made.SelectMany(x => x).ToList();
        Assert.Equal(4 * perThread, all.Count);
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
        // Same time, so the first 10 characters of every body agree and only the random part differs.
        Assert.Single(all.Select(id => id[..("cus_".Length + 10)]).Distinct());
        Assert.All(all, id => Assert.Equal("cus_".Length + 26, id.Length));
    }
}
