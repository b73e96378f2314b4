using System.Text.Json;
using Kassa.Core.Balances;
using Kassa.Core.Errors;
using Kassa.Core.Ids;
using Kassa.Core.Validation;
using Kassa.Engine.Audit;
using Kassa.Engine.Common;
using Kassa.Engine.Events;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Balances;

/// <summary>
/// <c>POST /v1/credit_grants</c>: a bucket added to a customer's balance of a metered or credit_system
/// feature. Grants burn after the plan allowance (priority 10 unless given), earliest expiry first,
/// promotional before paid. A customer without that balance gets one (overage blocked, no reset).
/// </summary>
public static class CreateCreditGrant
{
    public const int PriorityMax = 1_000;

    private static readonly HashSet<string> EmptyCustomers = [];

    public sealed record Request(
        string? CustomerId, string? FeatureId, decimal? Amount, string? Category, int? Priority, DateTimeOffset? EffectiveAt, DateTimeOffset? ExpiresAt,
        string? Name, Dictionary<string, string>? Metadata) : ILoadsCustomerBook;

    public static async Task<Result<CreditGrantResource>> Execute(IStoreSession s, OperationContext op, Request r)
    {
        if (r.CustomerId is null) return KassaError.Missing("customer_id");
        if (r.FeatureId is null) return KassaError.Missing("feature_id");
        if (r.Amount is null) return KassaError.Missing("amount");
        if (r.Category is null) return KassaError.Missing("category");
        var errors = new List<FieldError>();
        long amount = 0;
        if (Micro.Problem(r.Amount.Value, allowZero: false, allowNegative: false, out amount) is { } q) errors.Add(new FieldError("amount", q));
        if (!BalanceWords.TryParse<GrantCategory>(r.Category, out var category)) errors.Add(new FieldError("category", "must be paid or promotional"));
        if (r.Priority is < 0 or > PriorityMax) errors.Add(new FieldError("priority", $"must be from 0 to {PriorityMax}"));
        var effective = r.EffectiveAt ?? op.Now;
        if (r.ExpiresAt is { } exp && exp <= effective) errors.Add(new FieldError("expires_at", "must be after effective_at (or now)"));
        if (Rules.Text(r.Name, Rules.NameLengthMax) is { } n) errors.Add(new FieldError("name", n));
        Rules.Metadata(r.Metadata, errors);
        if (errors.Count > 0) return KassaError.Validation(errors);

        // On SQLite the balance writer's memory may hold the customer's balances (ADR 0021): taken out here, kept again
        // after the write. A customer found there is live — memory keeps only customers a batch found live, and a
        // deletion moves the epoch BeginAsync checks — so its row is not read again (a seventh of a grant's writer time).
        var memory = s.BalanceMemory;
        Dictionary<string, CachedCustomer>? remembered = null;
        if (memory is not null)
        {
            await memory.BeginAsync(s);
            remembered = memory.Take(op.Tenant, [r.CustomerId], op.Now);
        }
        // Otherwise the book finds whether the customer is live, locking its row as a read for update would (PostgreSQL),
        // in the round trip that loads and locks its balances: a separate customer read was one round trip more a grant.
        // (A remembered customer is taken from memory and not loaded at all.)
        var book = await BalanceBook.LoadAsync(s, op.Tenant, [r.CustomerId], [], forUpdate: true, op.Now, cached: remembered, lockCustomers: true);
        if (!book.Customers.Contains(r.CustomerId)) return KassaError.NotFound("customer", r.CustomerId) with { Param = "customer_id" };
        var feature = await s.Catalog.GetFeatureAsync(op.Tenant, r.FeatureId);
        if (feature is null) return KassaError.NotFound("feature", r.FeatureId) with { Param = "feature_id" };
        if (BalanceWords.Parse<FeatureType>(feature.Type) == FeatureType.Boolean) return KassaError.Validation("feature_id", "a boolean feature has no balance to grant to");

        StoredBucket bucket;
        LiveBalance? live;
        try
        {
            (live, bucket) = AddGrant(op, r, r.CustomerId, feature.Id, amount, category, effective, book);
        }
        catch (BalanceOverflowException e)
        {
            // Refused before anything changed; the transaction rolls back with the error.
            return new KassaError(ErrorCodes.QuantityOverflow, e.Message, "amount");
        }
        // Deferred: nothing after this in the request reads the balance again (on PostgreSQL the writes travel
        // with the next request's savepoint or the commit).
        await BalanceWrites.SaveAsync(s, live, op.Now, "credit_grant", bucket.Bucket.Id, deferred: true);
        // After the grant's balance writes and before anything else of the request writes balances (nothing does).
        if (memory is not null) await memory.KeepAsync(s, [book], EmptyCustomers);
        var resource = CreditGrantResource.From(bucket);
        await RecordAudit.Execute(s, op, "credit_grant.created", "credit_grant", bucket.Bucket.Id, ["amount", "category", "expires_at"]);
        await EmitEvent.Execute(s, op, EventTypes.CreditGrantCreated, "credit_grant", bucket.Bucket.Id, resource);
        return resource;
    }

    /// <summary>Adds the grant's bucket to the balance in memory (creating the balance when the customer has none); throws past the quantity bound before changing anything.</summary>
    private static (LiveBalance Live, StoredBucket Bucket) AddGrant(OperationContext op, Request r, string customerId, string featureId, long amount,
        GrantCategory category, DateTimeOffset effective, BalanceBook book)
    {
        var live = book.Get(customerId, featureId, "", op.Now);
        if (live is null)
        {
            var header = new BalanceHeader
            {
                AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = customerId, FeatureId = featureId, EntityId = "",
                OveragePolicy = OveragePolicy.Blocked, Reset = "never", Anchor = op.Now, PeriodStart = op.Now, UpdatedAt = op.Now, IsNew = true,
            };
            live = LiveBalance.Empty(header);
            book.Add(live);
        }
        var bucket = new StoredBucket
        {
            AccountId = op.Tenant.AccountId, Livemode = op.Tenant.Livemode, CustomerId = customerId, FeatureId = featureId, EntityId = "",
            Bucket = new Bucket(op.NewId(IdPrefixes.Grant), BucketKind.Grant, r.Priority ?? 10,
                category, amount, 0, 0, effective, r.ExpiresAt, op.Now),
            Name = r.Name, Metadata = r.Metadata is null ? null : JsonSerializer.Serialize(r.Metadata), IsNew = true,
        };
        live.Add(bucket);
        // A grant pays the period's overage first (spec §5: remaining = granted − used − held); one that
        // takes effect later does so when it does.
        if (!live.Header.Unlimited) live.Balance.SettleOverage(op.Now);
        return (live, bucket);
    }
}
