namespace Kassa.Core.Balances;

/// <summary>
/// A balance total (granted, or the period's usage) would pass <see cref="Micro.MaxAbs"/>. Thrown by
/// <see cref="FeatureBalance"/> before it changes anything, so the one operation can be refused
/// (<c>400 quantity_overflow</c>) and the balance stays exact. An <see cref="OverflowException"/>, so
/// callers that also guard checked arithmetic of their own catch both in one place.
/// </summary>
public sealed class BalanceOverflowException() : OverflowException(DefaultMessage)
{
    public const string DefaultMessage =
        "A balance total would pass 9000000000000 (9e12) units; nothing was changed";
}
