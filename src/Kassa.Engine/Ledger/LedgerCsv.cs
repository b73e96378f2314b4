using System.Globalization;
using System.Text;
using Kassa.Core.Ledger;
using Kassa.Engine.Storage;

namespace Kassa.Engine.Ledger;

/// <summary>
/// The ledger as CSV (RFC 4180): one row per journal line, CRLF line ends, a header row first.
/// <para>
/// Spreadsheet formula injection: a text cell that starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>
/// (or a tab or carriage return, which some spreadsheets skip before reading a formula) is written with
/// a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as text instead of running it.
/// Descriptions and customer ids come from API callers, so a description such as
/// <c>=HYPERLINK("http://evil","x")</c> must never become a live formula in an accountant's sheet. The
/// apostrophe is visible in plain-text tools; that is the price of a file that is safe to open.
/// Amounts are non-negative integers in minor units and are written as they are (never guarded).
/// </para>
/// </summary>
public static class LedgerCsv
{
    public static readonly IReadOnlyList<string> Columns =
        ["entry_id", "occurred_at", "currency", "description", "source_type", "source_id", "source_action", "customer_id",
         "account_code", "account_name", "debit", "credit"];

    public static string Header { get; } = string.Join(',', Columns) + "\r\n";

    /// <summary>The rows of one entry, one per line in account-code order.</summary>
    public static void AppendRows(StringBuilder sb, LedgerEntryRecord e)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(e);
        foreach (var line in e.Lines.OrderBy(l => l.AccountCode, StringComparer.Ordinal))
        {
            var name = Chart.All.Single(a => a.Code == line.AccountCode).Name;
            Cell(sb, e.Id).Append(',');
            Cell(sb, Timestamp(e.OccurredAt)).Append(',');
            Cell(sb, e.Currency).Append(',');
            Cell(sb, e.Description).Append(',');
            Cell(sb, e.SourceType).Append(',');
            Cell(sb, e.SourceId).Append(',');
            Cell(sb, e.Action).Append(',');
            Cell(sb, e.CustomerId ?? "").Append(',');
            Cell(sb, line.AccountCode).Append(',');
            Cell(sb, name).Append(',');
            sb.Append(line.Debit.ToString(CultureInfo.InvariantCulture)).Append(',');
            sb.Append(line.Credit.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }
    }

    /// <summary>The same UTC, whole-second RFC 3339 text the JSON API writes, so a CSV row and its JSON entry match.</summary>
    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>One text cell: guarded against formulas, then quoted when it holds a quote, comma, CR or LF.</summary>
    public static StringBuilder Cell(StringBuilder sb, string value)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        if (value.AsSpan().IndexOfAny("\",\r\n") < 0) return sb.Append(value);
        return sb.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
