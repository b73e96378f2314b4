using Dapper;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Storage;
using Npgsql;

namespace Kassa.Server.Tests.Storage;

/// <summary>
/// PostgreSQL migration 0026: every text column of the schema compares bytes (COLLATE "C"), whatever the
/// database's own collation — faster B-trees and the same order of ids as SQLite and .NET. A later migration
/// that adds a text column without COLLATE "C" fails here.
/// </summary>
public sealed class PostgresCollationTests
{
    [Fact]
    public async Task Every_text_column_of_the_migrated_schema_is_collated_C_and_orders_ids_by_their_bytes()
    {
        await using var database = await ProcessDatabase.CreateAsync("postgres", "");
        await using (var store = StoreFactory.Open(database.ConnectionString, TimeProvider.System)) await store.MigrateAsync();
        await using var c = new NpgsqlConnection(database.ConnectionString);
        await c.OpenAsync();
        var columns = (await c.QueryAsync<(string Table, string Column, string? Collation)>("""
            SELECT c.table_name, c.column_name, c.collation_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
            WHERE c.table_schema = current_schema() AND c.data_type IN ('text', 'character varying', 'character')
            """)).ToList();
        Assert.Contains(columns, x => x is ("meter_events", "id", _));
        Assert.Empty(columns.Where(x => x.Collation != "C").Select(x => $"{x.Table}.{x.Column} ({x.Collation ?? "the database's"})"));
        // Byte order: upper case before lower case and '_' (0x5F) between them, as SQLite and string.CompareOrdinal order them.
        await c.ExecuteAsync("""
            INSERT INTO meters (account_id, livemode, id, name, event_name, aggregation, value_property, group_by, filter, feature_id, created_at, updated_at)
            SELECT 'acct_c', false, id, 'M', 'e', 'count', NULL, '[]', '{}', NULL, 0, 0 FROM unnest(ARRAY['m_b', 'm_B', 'm__', 'm_a', 'm_A']) id
            """);
        var ids = (await c.QueryAsync<string>("SELECT id FROM meters WHERE account_id = 'acct_c' ORDER BY id")).ToList();
        Assert.Equal(["m_A", "m_B", "m__", "m_a", "m_b"], ids);
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
    }
}
