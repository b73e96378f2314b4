using System.Text.Json.Serialization;
using Kassa.Core.Errors;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;

namespace Kassa.Engine.Catalog;

/// <summary>
/// <c>POST /v1/products/{id}/migrate {"from_version": N}</c> (spec §3.2): every subscription of the
/// product running on version N now (<c>active</c>, <c>trialing</c>, <c>past_due</c>,
/// <c>incomplete</c>) is marked to move to the product's latest version at its next renewal, in one
/// statement however many subscribers there are. Nothing is billed or granted now: the renewal bills
/// the closed period's usage at version N's prices, then switches (see
/// <see cref="SwitchProductVersion"/>) and bills the new period's fees and grants its balances from the
/// latest version. The mark is taken at this instant: a subscription that starts on version N later
/// (a downgrade scheduled before the call) stays on it until migrated again, and a <c>scheduled</c>
/// subscription is not marked (it has not started). A renewal that ends the subscription instead
/// (cancel at period end, a scheduled downgrade) wins over the mark. Running it again marks nothing
/// new (<c>subscriptions: 0</c>, and no event). A call that marks subscriptions emits
/// <c>product.migrated</c>; each subscription emits <c>subscription.updated</c> when it switches. The product row is locked, so a concurrent update cannot make a newer
/// version between reading the latest version and marking.
/// </summary>
public static class MigrateProduct
{
    public sealed record Request(int? FromVersion);

    /// <summary>What the call marked: <see cref="Subscriptions"/> is how many subscriptions this call scheduled to move.</summary>
    public sealed record Migration(string ProductId, int FromVersion, int ToVersion, int Subscriptions)
    {
        [JsonPropertyOrder(-1)] public string Object => "product_migration";
    }

    public static async Task<Result<Migration>> Execute(IStoreSession s, OperationContext op, string id, Request request)
    {
        if (request.FromVersion is not { } from) return KassaError.Missing("from_version");
        if (from < 1) return KassaError.Validation("from_version", "must be a version number, 1 or more");
        var product = await s.Catalog.GetProductAsync(op.Tenant, id, forUpdate: true);
        if (product is null) return KassaError.NotFound("product", id);
        if (from > product.Version)
            return KassaError.Validation("from_version", $"product '{id}' has versions 1 to {product.Version}");
        if (from == product.Version)
            return KassaError.InvalidState($"Version {from} is the latest version of product '{id}'; there is nothing newer to migrate to");
        var oldPlan = BillingPlan.Of((await s.Catalog.GetVersionAsync(op.Tenant, id, from))!);
        var newPlan = BillingPlan.Of((await s.Catalog.GetVersionAsync(op.Tenant, id, product.Version))!);
        // A subscription keeps its currency for life (its invoices, ledger and customer credit are in it).
        if (oldPlan.Currency is not null && newPlan.Currency is not null && oldPlan.Currency != newPlan.Currency)
            return KassaError.InvalidState($"Version {from} of product '{id}' is priced in {oldPlan.Currency} and version {product.Version} in {newPlan.Currency}; a migration keeps the currency");

        var marked = await s.Subscriptions.ScheduleMigrationAsync(op.Tenant, id, from, product.Version);
        var migration = new Migration(id, from, product.Version, marked);
        // A call that marked nothing changed nothing, so it leaves no audit record or event (as archiving twice does).
        if (marked == 0) return migration;
        await RecordAudit.Execute(s, op, "product.migrated", "product", id, ["from_version", "to_version"]);
        await EmitEvent.Execute(s, op, EventTypes.ProductMigrated, "product", id, migration);
        return migration;
    }
}
