using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;

namespace Kassa.Engine.ProviderWebhooks;

/// <summary>
/// EXTENSION POINT for the checkout sessions (another part of issue 13): applies a
/// <see cref="CheckoutCompleted"/> event inside the pipeline's transaction (the same one as its dedupe
/// row) and answers the outcome to store. Register one implementation in dependency injection; while
/// none is registered the pipeline records such events as <see cref="ProviderEventOutcomes.Recorded"/>
/// and acknowledges them. An error rolls the delivery back, so the provider delivers it again.
/// </summary>
public interface ICheckoutCompletedHandler
{
    Task<Result<string>> ApplyAsync(IStoreSession s, OperationContext op, string provider, CheckoutCompleted completed, CancellationToken ct);
}
