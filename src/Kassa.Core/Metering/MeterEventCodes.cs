using Kassa.Core.Errors;

namespace Kassa.Core.Metering;

/// <summary>
/// The codes of a rejected meter event (the <c>rejected[].code</c> of a meter_events response). Part
/// of the public contract: clients switch on them, so they never change once shipped. Those shared
/// with request errors are the same strings as in <see cref="ErrorCodes"/>.
/// </summary>
public static class MeterEventCodes
{
    /// <summary>A required field (<c>id</c>, <c>event_name</c>, <c>customer_id</c>) is absent or null.</summary>
    public const string ParameterMissing = ErrorCodes.ParameterMissing;

    /// <summary>A field is present but its value breaks a rule.</summary>
    public const string ValidationFailed = ErrorCodes.ValidationFailed;

    /// <summary>The event has a field the API does not know (typos never pass silently).</summary>
    public const string UnknownField = ErrorCodes.UnknownField;

    /// <summary>The timestamp is more than 35 days old or more than 5 minutes ahead.</summary>
    public const string TimestampOutOfRange = "timestamp_out_of_range";

    /// <summary>
    /// The event's name has more meters than one event name may have (only meters stored before the
    /// bound existed can be past it): the event is refused rather than fed to some of them.
    /// </summary>
    public const string LimitReached = ErrorCodes.LimitReached;
}
