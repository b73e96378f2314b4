using System.Text.Json;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Storage;

/// <summary>
/// Append-only rows a transaction writes but never reads back while it runs — outbox events, audit
/// records and journal lines — held in memory and written together just before the commit
/// (<see cref="FlushAsync"/>), each table with one prepared statement rebound per row (SQLite) or one
/// round trip for all of them (PostgreSQL). A renewal writes about fifteen such rows; one statement
/// through Dapper each cost more than the rest of the renewal's statements together on PostgreSQL
/// (a round trip apiece) and a third of its managed time on SQLite (ADR 0008).
/// <para>
/// The rows still belong to the transaction: they are written before it commits and vanish with it
/// when it rolls back. A read of those tables inside the same session flushes first
/// (<see cref="SqlSession.FlushAsync"/>), so nothing in the session can observe the difference. Order
/// is kept per table (events are dispatched in insertion order). A journal entry's head row is not
/// buffered: its insert decides, by the unique source key, whether the entry posts at all.
/// </para>
/// </summary>
internal sealed class PendingRows
{
    /// <summary>Rows held before they are written anyway, so a long transaction's buffer stays small.</summary>
    public const int RowsMax = 2_000;

    private readonly List<EventRecord> _events = [];
    private readonly List<AuditRecord> _audit = [];
    private readonly List<(LedgerEntryRecord Entry, LedgerLineRecord Line)> _ledgerLines = [];

    private int Count => _events.Count + _audit.Count + _ledgerLines.Count;

    // A savepoint's mark: how many rows of each table were held when it opened, and the rows held before it
    // that a flush inside it wrote (they were written inside the savepoint, so its rollback takes them back
    // out of the database and they must be held again). Null outside a savepoint.
    private (int Events, int Audit, int Lines)? _mark;
    private readonly List<EventRecord> _carriedEvents = [];
    private readonly List<AuditRecord> _carriedAudit = [];
    private readonly List<(LedgerEntryRecord Entry, LedgerLineRecord Line)> _carriedLines = [];

    /// <summary>A savepoint opens: rows added from now on belong to it.</summary>
    public void Mark()
    {
        _mark = (_events.Count, _audit.Count, _ledgerLines.Count);
        _carriedEvents.Clear();
        _carriedAudit.Clear();
        _carriedLines.Clear();
    }

    /// <summary>The savepoint was released: its rows stay held for the commit.</summary>
    public void Unmark()
    {
        _mark = null;
        _carriedEvents.Clear();
        _carriedAudit.Clear();
        _carriedLines.Clear();
    }

    /// <summary>
    /// The savepoint was rolled back: its rows are dropped, and rows held before it that were written
    /// inside it (by a flush when the buffer filled) are held again, in their order, ahead of the rest.
    /// </summary>
    public void RollbackToMark()
    {
        if (_mark is not { } mark) return;
        _events.RemoveRange(mark.Events, _events.Count - mark.Events);
        _audit.RemoveRange(mark.Audit, _audit.Count - mark.Audit);
        _ledgerLines.RemoveRange(mark.Lines, _ledgerLines.Count - mark.Lines);
        _events.InsertRange(0, _carriedEvents);
        _audit.InsertRange(0, _carriedAudit);
        _ledgerLines.InsertRange(0, _carriedLines);
        Unmark();
    }

    public Task AddAsync(SqlSession s, EventRecord e)
    {
        _events.Add(e);
        return FlushIfFullAsync(s);
    }

    public Task AddAsync(SqlSession s, AuditRecord a)
    {
        _audit.Add(a);
        return FlushIfFullAsync(s);
    }

    public Task AddLinesAsync(SqlSession s, LedgerEntryRecord entry)
    {
        foreach (var line in entry.Lines) _ledgerLines.Add((entry, line));
        return FlushIfFullAsync(s);
    }

    private Task FlushIfFullAsync(SqlSession s) => Count >= RowsMax ? FlushAsync(s) : Task.CompletedTask;

    public async Task FlushAsync(SqlSession s)
    {
        if (Count == 0) return;
        // Taken out before writing: a failed write dooms the transaction, and nothing may be written twice.
        var events = _events.ToArray();
        var audit = _audit.ToArray();
        var lines = _ledgerLines.ToArray();
        _events.Clear();
        _audit.Clear();
        _ledgerLines.Clear();
        if (_mark is { } mark)
        {
            // Inside a savepoint: what was held before it is written inside it now, so remember it in case
            // the savepoint rolls back; the mark restarts at the (now empty) buffer.
            _carriedEvents.AddRange(events.Take(mark.Events));
            _carriedAudit.AddRange(audit.Take(mark.Audit));
            _carriedLines.AddRange(lines.Take(mark.Lines));
            _mark = (0, 0, 0);
        }
        await RowWriter.ExecuteAsync(s, """
            INSERT INTO events (account_id, livemode, id, type, object_type, object_id, data, request_id, created_at, dispatched)
            VALUES (@account, @livemode, @id, @type, @objectType, @objectId, @data, @requestId, @created, @dispatched)
            """, events,
            e => [e.AccountId, e.Livemode, e.Id, e.Type, e.ObjectType, e.ObjectId, e.Data, e.RequestId, Micros.From(e.CreatedAt), false]);
        await RowWriter.ExecuteAsync(s, """
            INSERT INTO audit_events (account_id, livemode, id, created_at, actor_type, actor_id, action, object_type, object_id, request_id, changed_fields)
            VALUES (@account, @livemode, @id, @created, @actorType, @actorId, @action, @objectType, @objectId, @requestId, @changed)
            """, audit,
            a => [a.AccountId, a.Livemode, a.Id, Micros.From(a.CreatedAt), a.ActorType, a.ActorId, a.Action, a.ObjectType, a.ObjectId, a.RequestId,
                JsonSerializer.Serialize(a.ChangedFields, StorageJson.Options)]);
        await RowWriter.ExecuteAsync(s, """
            INSERT INTO ledger_lines (account_id, livemode, entry_id, account_code, currency, debit, credit)
            VALUES (@account, @livemode, @entryId, @code, @currency, @debit, @credit)
            """, lines,
            x => [x.Entry.AccountId, x.Entry.Livemode, x.Entry.Id, x.Line.AccountCode, x.Entry.Currency, x.Line.Debit, x.Line.Credit]);
    }
}
