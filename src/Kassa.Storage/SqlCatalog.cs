using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kassa.Core.Paging;
using Kassa.Engine.Common;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>Features, products and product versions. Prices and product features are stored as JSON in the API's own shape.</summary>
internal sealed class SqlCatalog(SqlSession s) : ICatalogStore
{
    internal const string FeatureColumns = "account_id, livemode, id, name, type, unit, credit_schema, archived_at, created_at, updated_at, low_balance_threshold";
    private const string ProductColumns = "account_id, livemode, id, name, grp, is_add_on, auto_enable, free_trial, version, metadata, archived_at, created_at, updated_at";
    private const string VersionColumns = "account_id, livemode, product_id, version, prices, features, created_at";

    public async Task<bool> TryInsertFeatureAsync(FeatureRecord f)
    {
        _features.Clear();
        return await s.Connection.ExecuteAsync($"""
            INSERT INTO features ({FeatureColumns}) VALUES (@AccountId, @Livemode, @Id, @Name, @Type, @Unit, @schema, @archived, @created, @updated, @LowBalanceThreshold)
            ON CONFLICT (account_id, livemode, id) DO NOTHING
            """, FeatureArgs(f), s.Transaction) == 1;
    }

    // Features read in this session, by id, kept like the products below: a batch of group-committed grants
    // names the same feature in nearly every request, and read it once each (one statement of a grant's dozen).
    private readonly Dictionary<(Tenant, string), FeatureRecord> _features = [];

    public Task<FeatureRecord?> GetFeatureAsync(Tenant tenant, string id, bool forUpdate = false) =>
        RememberedAsync(_features, (tenant, id), forUpdate, async () =>
            (await QueryFeatures($"SELECT {FeatureColumns} FROM features WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id" +
                (forUpdate ? s.Dialect.ForUpdate : ""), new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault());

    /// <summary>Rows a session remembers at most per kind (features, products, versions); past it the rest are read each time.</summary>
    private const int RememberedMax = 1_000;

    /// <summary>
    /// A row from <paramref name="memory"/>, else <paramref name="read"/> and remembered. A locked read always goes
    /// to the database (and refreshes the entry).
    /// </summary>
    private static async Task<T?> RememberedAsync<TKey, T>(Dictionary<TKey, T> memory, TKey key, bool forUpdate, Func<Task<T?>> read)
        where TKey : notnull where T : class
    {
        if (!forUpdate && memory.TryGetValue(key, out var known)) return known;
        var row = await read();
        if (row is not null && memory.Count < RememberedMax) memory[key] = row;
        return row;
    }

    public async Task<IReadOnlyList<FeatureRecord>> GetFeaturesAsync(Tenant tenant, IReadOnlyCollection<string> ids)
    {
        if (ids.Count == 0) return [];
        return s.Dialect.IsPostgres
            ? await QueryFeatures($"SELECT {FeatureColumns} FROM features WHERE account_id = @AccountId AND livemode = @Livemode AND id = ANY(@ids)",
                new { tenant.AccountId, tenant.Livemode, ids = ids.ToArray() })
            : await QueryFeatures($"SELECT {FeatureColumns} FROM features WHERE account_id = @AccountId AND livemode = @Livemode AND id IN @ids",
                new { tenant.AccountId, tenant.Livemode, ids });
    }

    public Task UpdateFeatureAsync(FeatureRecord f)
    {
        _features.Clear();
        return s.Connection.ExecuteAsync("""
            UPDATE features SET name = @Name, unit = @Unit, credit_schema = @schema, archived_at = @archived, updated_at = @updated, low_balance_threshold = @LowBalanceThreshold
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, FeatureArgs(f), s.Transaction);
    }

    public Task<IReadOnlyList<FeatureRecord>> ListFeaturesAsync(Tenant tenant, Cursor? after, int limit) =>
        QueryFeatures($"""
            SELECT {FeatureColumns} FROM features
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, hasCursor = after is null ? 0 : 1, afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public async Task<bool> TryInsertProductAsync(ProductRecord p) =>
        await s.Connection.ExecuteAsync($"""
            INSERT INTO products ({ProductColumns})
            VALUES (@AccountId, @Livemode, @Id, @Name, @Group, @IsAddOn, @AutoEnable, @trial, @Version, @metadata, @archived, @created, @updated)
            ON CONFLICT (account_id, livemode, id) DO NOTHING
            """, ProductArgs(p), s.Transaction) == 1;

    // Products read in this session (one transaction), by id: a renewal batch reads the same few products
    // hundreds of times. A locked read always goes to the database (and refreshes the entry), and every
    // product write in this session forgets them all, so the session never reads a product older than
    // its own writes. On PostgreSQL another transaction's committed change may show a transaction later
    // than a fresh read would show it (SQLite has one writer, so none can happen); what must exclude
    // concurrent changes reads the row locked, and a subscription's prices come from its own immutable
    // version, not from the product row.
    private readonly Dictionary<(Tenant, string), ProductRecord> _products = [];

    /// <summary>
    /// Forgets every feature, product and version read in this session: a rolled-back savepoint may have
    /// written (and so remembered) rows that no longer exist.
    /// </summary>
    internal void ForgetRemembered()
    {
        _features.Clear();
        _products.Clear();
        _versions.Clear();
    }

    public Task<ProductRecord?> GetProductAsync(Tenant tenant, string id, bool forUpdate = false) =>
        RememberedAsync(_products, (tenant, id), forUpdate, async () =>
            (await QueryProducts($"SELECT {ProductColumns} FROM products WHERE account_id = @AccountId AND livemode = @Livemode AND id = @id" +
                (forUpdate ? s.Dialect.ForUpdate : ""), new { tenant.AccountId, tenant.Livemode, id })).FirstOrDefault());

    public Task UpdateProductAsync(ProductRecord p)
    {
        _products.Clear();
        return s.Connection.ExecuteAsync("""
            UPDATE products SET name = @Name, grp = @Group, is_add_on = @IsAddOn, auto_enable = @AutoEnable, free_trial = @trial, version = @Version,
                metadata = @metadata, archived_at = @archived, updated_at = @updated
            WHERE account_id = @AccountId AND livemode = @Livemode AND id = @Id
            """, ProductArgs(p), s.Transaction);
    }

    public Task<IReadOnlyList<ProductRecord>> ListProductsAsync(Tenant tenant, bool includeArchived, Cursor? after, int limit) =>
        QueryProducts($"""
            SELECT {ProductColumns} FROM products
            WHERE account_id = @AccountId AND livemode = @Livemode AND (@includeArchived = 1 OR archived_at IS NULL)
              AND (@hasCursor = 0 OR (created_at, id) < (@afterCreated, @afterId))
            ORDER BY created_at DESC, id DESC LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, includeArchived = includeArchived ? 1 : 0, hasCursor = after is null ? 0 : 1,
                afterCreated = after?.CreatedMicros ?? 0, afterId = after?.Id ?? "", limit });

    public Task InsertVersionAsync(ProductVersionRecord v) =>
        s.Connection.ExecuteAsync($"INSERT INTO product_versions ({VersionColumns}) VALUES (@AccountId, @Livemode, @ProductId, @Version, @prices, @features, @created)",
            VersionArgs(v), s.Transaction);

    public Task ReplaceVersionAsync(ProductVersionRecord v) =>
        s.Connection.ExecuteAsync("""
            UPDATE product_versions SET prices = @prices, features = @features
            WHERE account_id = @AccountId AND livemode = @Livemode AND product_id = @ProductId AND version = @Version
            """, VersionArgs(v), s.Transaction);

    /// <summary>
    /// Versions read in this session, by key. A version row never changes once written (a change to the
    /// product makes a new version), so a session that renews hundreds of subscriptions of one plan
    /// reads and parses it once. Bounded: a session past <see cref="RememberedMax"/> distinct versions reads
    /// the rest each time.
    /// </summary>
    private readonly Dictionary<(Tenant, string, int), ProductVersionRecord> _versions = [];

    public Task<ProductVersionRecord?> GetVersionAsync(Tenant tenant, string productId, int version) =>
        RememberedAsync(_versions, (tenant, productId, version), forUpdate: false, async () =>
            (await QueryVersions($"SELECT {VersionColumns} FROM product_versions WHERE account_id = @AccountId AND livemode = @Livemode AND product_id = @productId AND version = @version",
                new { tenant.AccountId, tenant.Livemode, productId, version })).FirstOrDefault());

    public Task<IReadOnlyList<ProductVersionRecord>> ListVersionsAsync(Tenant tenant, string productId, int limit) =>
        QueryVersions($"SELECT {VersionColumns} FROM product_versions WHERE account_id = @AccountId AND livemode = @Livemode AND product_id = @productId ORDER BY version DESC LIMIT @limit",
            new { tenant.AccountId, tenant.Livemode, productId, limit });

    public Task<IReadOnlyList<ProductRecord>> AutoEnableProductsAsync(Tenant tenant, int limit) =>
        QueryProducts($"""
            SELECT {ProductColumns} FROM products
            WHERE account_id = @AccountId AND livemode = @Livemode AND {s.Dialect.IsTrue("auto_enable")} AND archived_at IS NULL
            ORDER BY created_at, id LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, yes = true, limit });

    public async Task<bool> HasSubscriptionsAsync(Tenant tenant, string productId, int version) =>
        await s.Connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT 1 FROM subscriptions WHERE account_id = @AccountId AND livemode = @Livemode AND product_id = @productId AND product_version = @version LIMIT 1) x",
            new { tenant.AccountId, tenant.Livemode, productId, version }, s.Transaction) > 0;

    public async Task<IReadOnlyList<SubscriptionSummary>> LiveSubscriptionsAsync(Tenant tenant, string customerId, int limit)
    {
        await using var r = await s.Connection.ExecuteReaderAsync("""
            SELECT id, product_id, product_version, status, scheduled_product_id FROM subscriptions
            WHERE account_id = @AccountId AND livemode = @Livemode AND customer_id = @customerId
              AND status IN ('active', 'trialing', 'past_due', 'scheduled', 'incomplete')
            ORDER BY created_at LIMIT @limit
            """, new { tenant.AccountId, tenant.Livemode, customerId, limit }, s.Transaction);
        var list = new List<SubscriptionSummary>();
        while (await r.ReadAsync()) list.Add(new SubscriptionSummary(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)));
        return list;
    }

    private static object FeatureArgs(FeatureRecord f) => new
    {
        f.AccountId, f.Livemode, f.Id, f.Name, f.Type, f.Unit, f.LowBalanceThreshold,
        schema = f.CreditSchema is null ? null : JsonSerializer.Serialize(f.CreditSchema, KassaJson.Options),
        archived = f.ArchivedAt is { } a ? Micros.From(a) : (long?)null, created = Micros.From(f.CreatedAt), updated = Micros.From(f.UpdatedAt),
    };

    private static object ProductArgs(ProductRecord p) => new
    {
        p.AccountId, p.Livemode, p.Id, p.Name, p.Group, p.IsAddOn, p.AutoEnable,
        trial = p.FreeTrial is null ? null : JsonSerializer.Serialize(p.FreeTrial, KassaJson.Options), p.Version,
        metadata = JsonSerializer.Serialize(p.Metadata, KassaJson.Options),
        archived = p.ArchivedAt is { } a ? Micros.From(a) : (long?)null, created = Micros.From(p.CreatedAt), updated = Micros.From(p.UpdatedAt),
    };

    private static object VersionArgs(ProductVersionRecord v) => new
    {
        v.AccountId, v.Livemode, v.ProductId, v.Version,
        prices = JsonSerializer.Serialize(v.Prices, KassaJson.Options), features = JsonSerializer.Serialize(v.Features, KassaJson.Options),
        created = Micros.From(v.CreatedAt),
    };

    internal Task<IReadOnlyList<FeatureRecord>> QueryFeaturesAsync(string sql, object args) => QueryFeatures(sql, args);

    private async Task<IReadOnlyList<FeatureRecord>> QueryFeatures(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<FeatureRecord>();
        while (await r.ReadAsync()) list.Add(ReadFeature(r));
        return list;
    }

    internal static FeatureRecord ReadFeature(DbDataReader r) =>
        new(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetString(4), Str(r, 5),
            r.IsDBNull(6) ? null : JsonSerializer.Deserialize<List<CreditSchemaEntry>>(r.GetString(6), KassaJson.Options),
            Time(r, 7), Micros.To(r.GetInt64(8)), Micros.To(r.GetInt64(9)), r.IsDBNull(10) ? null : r.GetInt64(10));

    private async Task<IReadOnlyList<ProductRecord>> QueryProducts(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<ProductRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new ProductRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), Str(r, 4), r.GetBoolean(5), r.GetBoolean(6),
                r.IsDBNull(7) ? null : JsonSerializer.Deserialize<FreeTrial>(r.GetString(7), KassaJson.Options), r.GetInt32(8),
                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(9), KassaJson.Options) ?? [],
                Time(r, 10), Micros.To(r.GetInt64(11)), Micros.To(r.GetInt64(12))));
        }
        return list;
    }

    private async Task<IReadOnlyList<ProductVersionRecord>> QueryVersions(string sql, object args)
    {
        await using var r = await s.Connection.ExecuteReaderAsync(sql, args, s.Transaction);
        var list = new List<ProductVersionRecord>();
        while (await r.ReadAsync())
        {
            list.Add(new ProductVersionRecord(r.GetString(0), r.GetBoolean(1), r.GetString(2), r.GetInt32(3),
                JsonSerializer.Deserialize<List<Price>>(r.GetString(4), KassaJson.Options) ?? [],
                JsonSerializer.Deserialize<List<ProductFeature>>(r.GetString(5), KassaJson.Options) ?? [], Micros.To(r.GetInt64(6))));
        }
        return list;
    }

    private static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : Micros.To(r.GetInt64(i));
}
