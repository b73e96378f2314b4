using Kassa.Server.Cli;

namespace Kassa.Server.Tests.Cli;

/// <summary>When the warm-up decides the JIT has compiled the hot code (ADR 0017).</summary>
public sealed class JitSettlingTests
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Settles_at_the_second_quiet_second_after_the_busy_ones()
    {
        var s = new JitSettling();
        // The shape measured under the warm-up: thousands at once, hundreds a second, then a few.
        Assert.False(s.Observe(S(1), 7_300));
        Assert.False(s.Observe(S(2), 7_540));
        Assert.False(s.Observe(S(3), 8_025));
        Assert.False(s.Observe(S(4), 8_424));
        Assert.False(s.Observe(S(5), 9_045));
        Assert.False(s.Observe(S(6), 9_434));
        Assert.False(s.Observe(S(7), 9_454)); // 20 a second: the first quiet second
        Assert.True(s.Observe(S(8), 9_457));  // 3 a second: the second
    }

    [Fact]
    public void A_burst_between_quiet_seconds_starts_the_count_again()
    {
        var s = new JitSettling();
        Assert.False(s.Observe(S(5), 10_000));
        Assert.False(s.Observe(S(6), 10_010));
        Assert.False(s.Observe(S(7), 10_060)); // exactly 50 a second is not quiet
        Assert.False(s.Observe(S(8), 10_109)); // 49: quiet again, but only once
        Assert.True(s.Observe(S(9), 10_109));
    }

    [Fact]
    public void Quiet_seconds_before_the_minimum_do_not_end_it()
    {
        var s = new JitSettling();
        Assert.False(s.Observe(S(1), 5_000));
        Assert.False(s.Observe(S(2), 5_000));
        Assert.False(s.Observe(S(3), 5_001));
        Assert.False(s.Observe(S(4.9), 5_001));
        Assert.True(s.Observe(JitSettling.Minimum, 5_002));
    }

    [Fact]
    public void The_rate_is_per_second_whatever_the_interval_between_readings()
    {
        var s = new JitSettling();
        Assert.False(s.Observe(S(10), 20_000));
        // A late probe (a loaded machine): 90 methods over 2 s is 45 a second, quiet; 110 over 2 s is 55, not.
        Assert.False(s.Observe(S(12), 20_090));
        Assert.False(s.Observe(S(14), 20_200));
        Assert.False(s.Observe(S(16), 20_290));
        Assert.True(s.Observe(S(16.5), 20_300));
    }
}

/// <summary>The warm-up's default: on for optimized builds, off for a Debug build (ADR 0017).</summary>
public sealed class WarmUpDefaultTests
{
    [Fact]
    public void An_optimized_assembly_warms_up_by_default_and_a_debug_one_does_not()
    {
        // The framework's own assemblies are always optimized builds.
        Assert.Equal(TimeSpan.FromSeconds(30), WarmUp.DefaultFor(typeof(object).Assembly));
#if DEBUG
        Assert.Equal(TimeSpan.Zero, WarmUp.DefaultFor(typeof(WarmUpDefaultTests).Assembly));
#else
        Assert.Equal(TimeSpan.FromSeconds(30), WarmUp.DefaultFor(typeof(WarmUpDefaultTests).Assembly));
#endif
    }
}
