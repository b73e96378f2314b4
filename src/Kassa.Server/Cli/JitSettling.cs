namespace Kassa.Server.Cli;

/// <summary>
/// Tells, from the JIT's running count of compiled methods read about once a second under the warm-up's load,
/// when the hot code has been compiled optimized: fewer than <see cref="QuietMethodsPerSecond"/> methods a second
/// in each of the last <see cref="QuietProbes"/> intervals, and not before <see cref="Minimum"/>.
/// <para>
/// Why these figures (bench/README.md, 2026-12-03, sixth session): under the warm-up the count grew by 200–1,300
/// methods a second for 16 s (dynamic PGO off) or 26 s (on) while the tiered compiler caught up, then by 0–40 a
/// second. No quiet interval came earlier: the call-counting delay holds tier-1 compilation back only while
/// tier-0 compilation goes on. <see cref="Minimum"/> covers the first second, when nothing is hot yet.
/// </para>
/// Pure: the caller passes in the time and the count.
/// </summary>
public sealed class JitSettling
{
    public const int QuietMethodsPerSecond = 50;
    public const int QuietProbes = 2;
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(5);

    private TimeSpan? _lastAt;
    private long _lastCount;
    private int _quiet;

    /// <summary>Records one reading; true once the JIT has settled.</summary>
    /// <param name="elapsed">Time since the warm-up's load started.</param>
    /// <param name="compiledMethods">The process's count of methods compiled so far (<c>JitInfo.GetCompiledMethodCount</c>).</param>
    public bool Observe(TimeSpan elapsed, long compiledMethods)
    {
        if (_lastAt is { } lastAt && elapsed > lastAt)
        {
            // methods / seconds < quiet rate, in whole ticks.
            var quiet = (compiledMethods - _lastCount) * TimeSpan.TicksPerSecond < QuietMethodsPerSecond * (elapsed - lastAt).Ticks;
            _quiet = quiet ? _quiet + 1 : 0;
        }
        _lastAt = elapsed;
        _lastCount = compiledMethods;
        return _quiet >= QuietProbes && elapsed >= Minimum;
    }
}
