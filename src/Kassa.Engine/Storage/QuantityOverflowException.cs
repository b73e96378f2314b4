namespace Kassa.Engine.Storage;

/// <summary>
/// A total would pass the 64-bit micro-unit range (about 9.2 × 10¹² units): thrown by the in-memory folds
/// and by the stores when the database refuses the arithmetic, so the transaction rolls back whole and the
/// request is answered <c>400 quantity_overflow</c> instead of storing a wrong or partial total.
/// </summary>
public sealed class QuantityOverflowException(string message, Exception? inner = null) : Exception(message, inner)
{
    public const string DefaultMessage =
        "A usage total would pass 9.2e12 units (64-bit micro-units) for one customer, hour and group; nothing was stored";

    /// <summary>For a usage query: a window's total (over customers and hours) past the range.</summary>
    public const string WindowMessage = "A window's usage total would pass 9.2e12 units (64-bit micro-units); ask for smaller windows or one customer";
}
