using Kassa.Server.Hosting;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Stripe;

namespace Kassa.Server.Tests.Stripe;

/// <summary>What the Stripe tests need of a host: the server pointed at its own fake Stripe, with a 1-second Stripe timeout and no SDK retries.</summary>
public interface IStripeHost
{
    FakeStripe Fake { get; }
}

internal static class StripeTestOptions
{
    /// <summary>Short, so the fake's held answer times out quickly; long enough for a loaded CI machine to answer a normal call.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static void Apply(KassaOptions options, FakeStripe fake) =>
        options.Stripe = new StripeOptions { ApiBase = fake.Url, Timeout = Timeout, MaxNetworkRetries = 0 };
}

/// <summary>SQLite without <c>KASSA_SECRETS_KEY</c>: the secrets key is a file made next to the database.</summary>
public sealed class StripeSqliteHost : SqliteHost, IStripeHost
{
    public FakeStripe Fake { get; } = new();

    protected override void Configure(KassaOptions options) => StripeTestOptions.Apply(options, Fake);

    protected override async Task DropDatabaseAsync()
    {
        await Fake.DisposeAsync();
        await base.DropDatabaseAsync();
    }
}

/// <summary>PostgreSQL needs <c>KASSA_SECRETS_KEY</c> (several nodes share it).</summary>
public sealed class StripePostgresHost : PostgresHost, IStripeHost
{
    public const string SecretsKey = "S2Fzc2EgdGVzdCBzZWNyZXRzIGtleSwgMzIgYnl0ZXM=";

    public FakeStripe Fake { get; } = new();

    protected override void Configure(KassaOptions options)
    {
        StripeTestOptions.Apply(options, Fake);
        options.SecretsKey = SecretsKey;
    }

    protected override async Task DropDatabaseAsync()
    {
        await Fake.DisposeAsync();
        await base.DropDatabaseAsync();
    }
}
