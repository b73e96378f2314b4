using System.Text.Json.Serialization;
using Kassa.Core.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>What posted an entry: <c>(type, id, action)</c> is unique, so nothing posts twice.</summary>
public sealed record LedgerSourceResource(string Type, string Id, string Action);

/// <summary>One side of one account in an entry: exactly one of debit and credit is positive (minor units).</summary>
public sealed record LedgerLineResource(string AccountCode, string AccountName, long Debit, long Credit);

/// <summary>An immutable, balanced journal entry (spec §9).</summary>
public sealed record LedgerEntryResource(
    string Id, DateTimeOffset OccurredAt, string Currency, string Description, LedgerSourceResource Source, string? CustomerId,
    IReadOnlyList<LedgerLineResource> Lines, bool Livemode)
{
    [JsonPropertyOrder(-1)] public string Object => "ledger_entry";

    public static LedgerEntryResource From(LedgerEntryRecord e) =>
        new(e.Id, e.OccurredAt, e.Currency, e.Description, new LedgerSourceResource(e.SourceType, e.SourceId, e.Action), e.CustomerId,
            [.. e.Lines.Select(l => new LedgerLineResource(l.AccountCode, Chart.All.Single(a => a.Code == l.AccountCode).Name, l.Debit, l.Credit))], e.Livemode);
}

/// <summary>One account's totals; <c>balance</c> is on the account's normal side (debit for assets and contra-revenue).</summary>
public sealed record TrialBalanceAccountResource(string Code, string Name, long Debit, long Credit, long Balance);

/// <summary>The trial balance of one currency (spec §9): <c>debits</c> equals <c>credits</c>.</summary>
public sealed record TrialBalanceResource(DateTimeOffset AsOf, string Currency, IReadOnlyList<TrialBalanceAccountResource> Accounts, long Debits, long Credits);

/// <summary>One currency's totals of one account; <c>balance</c> is on the account's normal side.</summary>
public sealed record LedgerAccountBalanceResource(string Currency, long Debit, long Credit, long Balance);

/// <summary>An account of the chart (spec §9) with its totals per currency.</summary>
public sealed record LedgerAccountResource(string Code, string Name, string Type, string NormalBalance, IReadOnlyList<LedgerAccountBalanceResource> Balances)
{
    [JsonPropertyOrder(-1)] public string Object => "ledger_account";
}
