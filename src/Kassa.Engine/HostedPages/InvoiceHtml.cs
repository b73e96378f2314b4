using System.Globalization;
using System.Text;
using Kassa.Core.Balances;
using Kassa.Core.Money;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.HostedPages;

/// <summary>
/// Renders an invoice as one self-contained HTML document: inline CSS only, no script, no font or image
/// from elsewhere, so it opens offline, prints the same everywhere (A4 and Letter: the page size is left
/// to the printer, the content is narrower than both) and passes a <c>default-src 'none'</c> policy.
/// Every text from a caller is HTML-encoded: a customer named <c>&lt;script&gt;</c> is shown, never run.
/// </summary>
public static class InvoiceHtml
{
    public static string Render(InvoiceRecord invoice, IReadOnlyList<InvoiceLineRecord> lines, CustomerRecord? customer, string seller)
    {
        ArgumentNullException.ThrowIfNull(invoice);
        ArgumentNullException.ThrowIfNull(lines);
        var currency = Currencies.TryGet(invoice.Currency, out var c) ? c : throw new InvalidOperationException($"invoice {invoice.Id} has unknown currency {invoice.Currency}");
        string Money(long minor) => E(MoneyFormat.Format(minor, currency, trimZeroFraction: false));
        var draft = invoice.Status == "draft";
        var title = invoice.Number is { } n ? $"Invoice {n}" : "Draft invoice";

        var h = new StringBuilder(8 * 1024);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
         .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
         .Append("<meta name=\"robots\" content=\"noindex\">\n")
         .Append("<title>").Append(E(title)).Append(seller.Length > 0 ? " — " + E(seller) : "").Append("</title>\n")
         .Append("<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main class=\"sheet\">\n");
        if (draft) h.Append("<p class=\"draft-banner\" role=\"note\">DRAFT — not yet issued, figures may change</p>\n");

        h.Append("<header class=\"top\">\n<div>\n<p class=\"seller\">").Append(seller.Length > 0 ? E(seller) : "&nbsp;").Append("</p>\n")
         .Append("<h1>").Append(draft ? "DRAFT invoice" : "Invoice").Append("</h1>\n</div>\n")
         .Append("<dl class=\"meta\">\n");
        Meta(h, "Invoice number", invoice.Number ?? "—");
        Meta(h, "Status", StatusLabel(invoice.Status), $"status status-{E(invoice.Status)}");
        Meta(h, "Date of issue", Date(invoice.FinalizedAt ?? invoice.CreatedAt));
        if (invoice.DueAt is { } due) Meta(h, "Date due", Date(due));
        if (invoice.PeriodStart is { } ps && invoice.PeriodEnd is { } pe) Meta(h, "Service period", $"{Date(ps)} – {Date(pe)}");
        if (invoice.PaidAt is { } paid) Meta(h, "Paid on", Date(paid));
        h.Append("</dl>\n</header>\n");

        h.Append("<section class=\"parties\">\n<div>\n<h2>Bill to</h2>\n<address>\n");
        if (customer?.Name is { Length: > 0 } name) h.Append("<strong class=\"customer-name\">").Append(E(name)).Append("</strong><br>\n");
        if (customer?.Email is { Length: > 0 } email) h.Append("<span class=\"customer-email\">").Append(E(email)).Append("</span><br>\n");
        if (customer?.Address is { } a)
        {
            if (a.Line1 is { Length: > 0 } l1) h.Append(E(l1)).Append("<br>\n");
            var cityLine = string.Join(" ", new[] { a.PostalCode, a.City, a.State }.Where(p => !string.IsNullOrEmpty(p)));
            if (cityLine.Length > 0) h.Append(E(cityLine)).Append("<br>\n");
            if (a.Country is { Length: > 0 } country) h.Append(E(country)).Append("<br>\n");
        }
        h.Append("<span class=\"muted\">Customer ").Append(E(invoice.CustomerId)).Append("</span>\n</address>\n</div>\n")
         .Append("<div class=\"due-box\">\n<p class=\"due-label\">").Append(invoice.Status == "paid" ? "Paid" : "Amount due").Append("</p>\n")
         .Append("<p class=\"due-amount\" id=\"amount-due\">").Append(Money(invoice.Status == "paid" ? invoice.AmountPaid : invoice.AmountDue)).Append("</p>\n")
         .Append("<p class=\"muted\">").Append(E(currency.Code.ToUpperInvariant())).Append(invoice.DueAt is { } d2 && invoice.Status == "open" ? " · due " + Date(d2) : "").Append("</p>\n</div>\n</section>\n");

        if (invoice.Description is { Length: > 0 } description) h.Append("<p class=\"memo\">").Append(E(description)).Append("</p>\n");

        h.Append("<table class=\"lines\">\n<thead><tr><th scope=\"col\">Description</th><th scope=\"col\">Period</th>")
         .Append("<th scope=\"col\" class=\"num\">Qty</th><th scope=\"col\" class=\"num\">Unit price</th><th scope=\"col\" class=\"num\">Amount</th></tr></thead>\n<tbody>\n");
        if (lines.Count == 0) h.Append("<tr><td colspan=\"5\" class=\"muted\">No lines yet.</td></tr>\n");
        foreach (var line in lines)
        {
            var quantity = Micro.ToDecimal(line.QuantityMicros);
            h.Append("<tr><td>").Append(E(line.Description)).Append("</td><td class=\"period\">")
             .Append(line.PeriodStart is { } s && line.PeriodEnd is { } e ? $"{Date(s)} – {Date(e)}" : "—").Append("</td><td class=\"num\">")
             .Append(E(quantity.ToString("#,0.######", CultureInfo.InvariantCulture))).Append("</td><td class=\"num\">")
             .Append(E(UnitPrice(line.UnitAmountDecimal ?? (quantity == 0 ? line.Amount : line.Amount / quantity), currency)))
             .Append("</td><td class=\"num\">").Append(Money(line.Amount)).Append("</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n");

        h.Append("<table class=\"totals\">\n<tbody>\n");
        Total(h, "Subtotal", Money(invoice.Subtotal), "subtotal");
        Total(h, "Discount", invoice.Discount == 0 ? Money(0) : Money(-invoice.Discount), "discount");
        Total(h, "Tax", Money(invoice.Tax), "tax");
        Total(h, "Total", Money(invoice.Total), "total", "grand");
        Total(h, "Amount paid", invoice.AmountPaid == 0 ? Money(0) : Money(-invoice.AmountPaid), "amount-paid");
        Total(h, "Amount due", Money(invoice.AmountDue), "amount-due-row", "grand");
        h.Append("</tbody>\n</table>\n");

        h.Append("<footer>\n<p>").Append(E(title)).Append(seller.Length > 0 ? " · " + E(seller) : "").Append(" · ").Append(E(invoice.Id))
         .Append(invoice.Livemode ? "" : " · <strong>test mode</strong>").Append("</p>\n</footer>\n</main>\n</body>\n</html>\n");
        return h.ToString();
    }

    /// <summary>A whole number of minor units reads like every other amount ($500.00); a fraction of one keeps its digits ($0.005).</summary>
    private static string UnitPrice(decimal minor, Currency currency) =>
        decimal.Truncate(minor) == minor && Math.Abs(minor) <= long.MaxValue
            ? MoneyFormat.Format((long)minor, currency, trimZeroFraction: false)
            : MoneyFormat.FormatDecimalMinor(minor, currency);

    private static string StatusLabel(string status) => status switch
    {
        "draft" => "DRAFT",
        "open" => "Open",
        "paid" => "Paid",
        "void" => "Void",
        "uncollectible" => "Uncollectible",
        _ => status,
    };

    private static void Meta(StringBuilder h, string label, string value, string? cls = null) =>
        h.Append("<div><dt>").Append(E(label)).Append("</dt><dd").Append(cls is null ? "" : $" class=\"{cls}\"").Append('>').Append(E(value)).Append("</dd></div>\n");

    // Money text arrives already encoded (the currency symbol is data too).
    private static void Total(StringBuilder h, string label, string encodedMoney, string id, string? cls = null) =>
        h.Append("<tr").Append(cls is null ? "" : $" class=\"{cls}\"").Append("><th scope=\"row\">").Append(E(label))
         .Append("</th><td class=\"num\" id=\"").Append(id).Append("\">").Append(encodedMoney).Append("</td></tr>\n");

    private static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("d MMM yyyy", CultureInfo.InvariantCulture);

    /// <summary>
    /// Encodes the five characters that matter in HTML text and attribute values. Not
    /// <c>WebUtility.HtmlEncode</c>: it also turns ¥, £ and é into numeric references, which is safe but
    /// makes the page's text differ from the figures the API and the ledger show.
    /// </summary>
    private static string E(string text)
    {
        if (text.AsSpan().IndexOfAny("&<>\"'") < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var ch in text)
        {
            sb.Append(ch switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => null,
            } ?? ch.ToString());
        }
        return sb.ToString();
    }

    private const string Css = """

        :root { color-scheme: light; --ink: #1a1f36; --muted: #6b7385; --line: #e3e6ee; --accent: #2b59c3; }
        * { box-sizing: border-box; }
        html { background: #f3f4f8; }
        body { margin: 0; padding: 32px 16px; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); }
        .sheet { max-width: 180mm; margin: 0 auto; background: #fff; padding: 40px 48px; border-radius: 8px; box-shadow: 0 1px 3px rgba(26,31,54,.12); }
        .draft-banner { margin: -16px 0 24px; padding: 8px 12px; border: 2px dashed #c0392b; color: #c0392b; font-weight: 700; letter-spacing: .08em; text-align: center; }
        .top { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; border-bottom: 2px solid var(--ink); padding-bottom: 20px; }
        .seller { margin: 0; font-size: 18px; font-weight: 700; }
        h1 { margin: 4px 0 0; font-size: 28px; font-weight: 300; letter-spacing: .02em; }
        .meta { margin: 0; display: grid; grid-template-columns: auto auto; gap: 2px 16px; font-size: 13px; }
        .meta div { display: contents; }
        .meta dt { color: var(--muted); text-align: right; }
        .meta dd { margin: 0; font-weight: 600; }
        .status-draft { color: #c0392b; } .status-paid { color: #1e8e3e; } .status-void, .status-uncollectible { color: var(--muted); }
        .parties { display: flex; justify-content: space-between; gap: 24px; margin: 24px 0; }
        h2 { margin: 0 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
        address { font-style: normal; }
        .due-box { text-align: right; }
        .due-label { margin: 0; font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
        .due-amount { margin: 0; font-size: 30px; font-weight: 700; }
        .muted { color: var(--muted); font-size: 12px; }
        .memo { margin: 0 0 16px; padding: 8px 12px; background: #f7f8fb; border-left: 3px solid var(--accent); }
        table { width: 100%; border-collapse: collapse; }
        .lines th { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); border-bottom: 1px solid var(--ink); padding: 6px 8px; }
        .lines td { padding: 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        .lines .period { color: var(--muted); font-size: 12px; white-space: nowrap; }
        .num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        .lines th.num { text-align: right; }
        .totals { width: 50%; margin: 16px 0 0 auto; }
        .totals th { text-align: left; font-weight: 400; color: var(--muted); padding: 4px 8px; }
        .totals td { padding: 4px 8px; }
        .totals tr.grand th, .totals tr.grand td { color: var(--ink); font-weight: 700; border-top: 1px solid var(--ink); }
        footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted); font-size: 11px; }
        @media print {
          @page { margin: 14mm; }
          html, body { background: #fff; padding: 0; }
          .sheet { max-width: none; box-shadow: none; border-radius: 0; padding: 0; }
          tr { break-inside: avoid; }
        }

        """;
}
