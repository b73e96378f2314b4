using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Json;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Customers;

/// <summary>The address fields a request may carry (spec §2).</summary>
public sealed record AddressInput(string? Line1, string? City, string? State, string? PostalCode, string? Country)
{
    public Address ToAddress() => new(Line1, City, State, PostalCode, Country?.ToUpperInvariant());
}

/// <summary>
/// The body of <c>PUT</c> and <c>PATCH /v1/customers/{id}</c>: fields present are set, <c>null</c>
/// clears one, absent fields are left alone.
/// </summary>
public sealed record CustomerPatch(Optional<string> Email, Optional<string> Name, Optional<AddressInput> Address, Optional<Dictionary<string, string>> Metadata)
{
    public void Check(List<FieldError> errors) => CustomerInput.Check(Email.Value, Name.Value, Address.Value, Metadata.Value, errors);
}

/// <summary>Validation and updates shared by create, get-or-create and update: one place for the field rules.</summary>
internal static class CustomerInput
{
    /// <summary>
    /// Applies a patch to a live customer; writes and audits only when something changed, so an
    /// unchanged get-or-create on every login costs a read and nothing else.
    /// </summary>
    public static async Task<CustomerRecord> ApplyAsync(IStoreSession session, OperationContext op, CustomerRecord existing, CustomerPatch patch)
    {
        var updated = existing with
        {
            Email = patch.Email.Or(existing.Email),
            Name = patch.Name.Or(existing.Name),
            Address = patch.Address.IsSet ? patch.Address.Value?.ToAddress() : existing.Address,
            Metadata = patch.Metadata.IsSet ? patch.Metadata.Value ?? new Dictionary<string, string>() : existing.Metadata,
        };
        var changed = Changes(existing, updated);
        if (changed.Count == 0) return existing;
        updated = updated with { UpdatedAt = op.Now };
        // Deferred: nothing after this in the request reads the row again (its answer is built from `updated`).
        await session.Customers.UpdateAsync(updated, deferred: true);
        await RecordAudit.Execute(session, op, "customer.updated", "customer", existing.Id, changed);
        var previous = new Dictionary<string, object?>();
        foreach (var field in changed)
        {
            previous[field] = field switch
            {
                "email" => existing.Email,
                "name" => existing.Name,
                "address" => AddressResource.From(existing.Address),
                _ => existing.Metadata,
            };
        }
        await EmitEvent.Execute(session, op, EventTypes.CustomerUpdated, "customer", existing.Id, CustomerResource.From(updated), previous);
        return updated;
    }

    public static void Check(string? email, string? name, AddressInput? address, IReadOnlyDictionary<string, string>? metadata, List<FieldError> errors)
    {
        if (Rules.Email(email) is { } e) errors.Add(new FieldError("email", e));
        if (Rules.Text(name, Rules.NameLengthMax) is { } n) errors.Add(new FieldError("name", n));
        if (address is not null)
        {
            Field("address.line1", address.Line1);
            Field("address.city", address.City);
            Field("address.state", address.State);
            Field("address.postal_code", address.PostalCode);
            if (address.Country is { } country && (country.Length != 2 || !country.All(char.IsAsciiLetter)))
                errors.Add(new FieldError("address.country", "must be an ISO 3166-1 alpha-2 code such as US or DE"));
        }
        Rules.Metadata(metadata, errors);

        void Field(string field, string? value)
        {
            if (Rules.Text(value, Rules.AddressFieldLengthMax) is { } complaint) errors.Add(new FieldError(field, complaint));
        }
    }

    /// <summary>
    /// Records a new customer: attaches the auto-enabled products, writes its audit entry and its
    /// <c>customer.created</c> event. An attachment that fails fails the creation (the caller's
    /// transaction rolls back): a customer must never exist without a plan it was promised.
    /// </summary>
    public static async Task<KassaError?> CreatedAsync(IStoreSession session, OperationContext op, CustomerRecord customer)
    {
        // Spec §2: a new customer is attached to every product with auto_enable (the free plan). The read
        // is bounded, and complete because no tenant can have more than the bound (AutoEnableLimit).
        foreach (var product in await session.Catalog.AutoEnableProductsAsync(op.Tenant, Catalog.AutoEnableLimit.ProductsMax))
        {
            var version = await session.Catalog.GetVersionAsync(op.Tenant, product.Id, product.Version);
            if (version is null || !Subscriptions.AttachProduct.ChargesNothingUpFront(version)) continue;
            var attached = await Subscriptions.AttachProduct.Execute(session, op, customer.Id, product, version, 1);
            if (!attached.IsOk) return attached.Error;
        }
        await RecordAudit.Execute(session, op, "customer.created", "customer", customer.Id, ["email", "name", "address", "metadata"]);
        await EmitEvent.Execute(session, op, EventTypes.CustomerCreated, "customer", customer.Id, CustomerResource.From(customer));
        return null;
    }

    /// <summary>The names of the fields that differ between two versions, for the audit log.</summary>
    public static List<string> Changes(CustomerRecord before, CustomerRecord after)
    {
        var changed = new List<string>(4);
        if (before.Email != after.Email) changed.Add("email");
        if (before.Name != after.Name) changed.Add("name");
        if (before.Address != after.Address) changed.Add("address");
        if (!MetadataEqual(before.Metadata, after.Metadata)) changed.Add("metadata");
        return changed;
    }

    private static bool MetadataEqual(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
