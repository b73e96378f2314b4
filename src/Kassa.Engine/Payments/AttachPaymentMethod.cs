using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Payments;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Payments;

/// <summary>
/// <c>POST /v1/payment_methods</c>: saves a card for a customer through the sandbox provider (test
/// mode only: a live key gets <c>400 test_mode_only</c>, since raw card numbers must never reach a live
/// server). A malformed card is a 400 naming the field; a card the provider refuses is a 402 with its
/// code (<c>card_declined</c>, <c>insufficient_funds</c>). The customer's first method becomes its
/// default. The provider call happens inside the transaction: attaching moves no money, and the
/// sandbox answers from memory.
/// </summary>
public static class AttachPaymentMethod
{
    public sealed record CardRequest(string? Number, int? ExpMonth, int? ExpYear, string? Cvc);

    public sealed record Request(string? CustomerId, CardRequest? Card);

    public static async Task<Result<PaymentMethodResource>> Execute(IStoreSession s, OperationContext op, PaymentProviders providers, Request r, CancellationToken ct)
    {
        if (op.Tenant.Livemode || await providers.ForAsync(op.Tenant, ct) is not { } provider)
            return new KassaError(ErrorCodes.TestModeOnly, "Cards can be saved through the API in test mode only (sandbox provider); live mode needs a checkout with a configured provider");
        if (r.CustomerId is null) return KassaError.Missing("customer_id");
        if (r.Card is null) return KassaError.Missing("card");
        if (Rules.Text(r.CustomerId, Rules.CustomerIdLengthMax, allowEmpty: false) is { } c) return KassaError.Validation("customer_id", c);
        var (summary, field, problem) = Cards.Validate(r.Card.Number, r.Card.ExpMonth, r.Card.ExpYear, r.Card.Cvc, op.Now);
        if (summary is null) return KassaError.Validation(field!, problem!);

        // Locking the customer serialises its attaches, so two first methods cannot both become the default.
        var customer = await s.Customers.GetForUpdateAsync(op.Tenant, r.CustomerId);
        if (customer is null || customer.DeletedAt is not null) return KassaError.NotFound("customer", r.CustomerId);
        var attached = await provider.AttachCardAsync(customer.Id, new CardInput(r.Card.Number, r.Card.ExpMonth, r.Card.ExpYear, r.Card.Cvc), op.Now, ct);
        if (!attached.Attached)
        {
            if (attached.FailureCode == ErrorCodes.Unsupported)
                return new KassaError(ErrorCodes.Unsupported, attached.FailureMessage ?? $"The '{provider.Name}' provider does not take card numbers", "card");
            var code = attached.FailureCode == ErrorCodes.InsufficientFunds ? ErrorCodes.InsufficientFunds : ErrorCodes.CardDeclined;
            return new KassaError(code, attached.FailureMessage ?? "The card was declined.", "card");
        }

        var isDefault = await s.Payments.DefaultMethodAsync(op.Tenant, customer.Id) is null;
        var card = attached.Card!;
        var method = new PaymentMethodRecord(op.Tenant.AccountId, op.Tenant.Livemode, op.NewId(IdPrefixes.PaymentMethod), customer.Id, provider.Name,
            attached.MethodToken!, card.Brand.ToString().ToLowerInvariant(), card.Last4, card.ExpMonth, card.ExpYear, isDefault, op.Now, null);
        await s.Payments.InsertMethodAsync(method);
        if (isDefault)
        {
            await s.Customers.UpdateAsync(customer with { DefaultPaymentMethodId = method.Id, UpdatedAt = op.Now });
            await TopUps.RearmAutoTopUps.Execute(s, op, customer.Id);
        }
        var resource = PaymentMethodResource.From(method);
        await RecordAudit.Execute(s, op, EventTypes.PaymentMethodAttached, "payment_method", method.Id, ["customer_id", "card", "is_default"]);
        await EmitEvent.Execute(s, op, EventTypes.PaymentMethodAttached, "payment_method", method.Id, resource);
        return resource;
    }
}
