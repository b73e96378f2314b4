using System.Diagnostics;

namespace Kassa.Engine.Common;

/// <summary>
/// Fault injection for crash-safety tests, a test-only switch: with <c>KASSA_FAULT=kill_after_provider_charge</c>
/// in the environment the process kills itself with SIGKILL right after the payment provider answered a
/// test-mode charge and before the outcome transaction, the worst moment for "never charge twice, never
/// lose a charge". Unset (always, outside such a test) every point is a no-op; live-mode charges never stop.
/// </summary>
public static class Faults
{
    public const string Variable = "KASSA_FAULT";
    public const string KillAfterProviderCharge = "kill_after_provider_charge";

    private static readonly string? Armed = Environment.GetEnvironmentVariable(Variable);

    /// <summary>Called by <c>ChargeInvoice</c> once the provider has answered a charge, before its outcome is recorded.</summary>
    public static void AfterProviderCharge(Tenant tenant)
    {
        if (Armed == KillAfterProviderCharge && !tenant.Livemode) Kill();
    }

    // Process.Kill sends SIGKILL on Unix: no finally block, no graceful shutdown, no flush — a real crash.
    private static void Kill()
    {
        using var self = Process.GetCurrentProcess();
        self.Kill();
    }
}
