using System.Globalization;
using System.Net;
using System.Text;
using Kassa.Core.Errors;
using Kassa.Core.Money;
using Kassa.Engine.Checkout;

namespace Kassa.Server.Pages;

/// <summary>
/// The hosted checkout page as one self-contained HTML document: inline CSS, no script, nothing from
/// elsewhere, so it works offline and under a <c>default-src 'none'</c> policy. Accessible without help from
/// script: every field has a <c>&lt;label&gt;</c>, an <c>autocomplete</c> purpose and an <c>inputmode</c>; an
/// error sits next to its field (<c>aria-invalid</c>, <c>aria-describedby</c>) and in a summary at the top
/// whose links move to the field; the tab order follows the reading order; focus is always visible; the
/// submit is a real <c>&lt;button&gt;</c>. Every text from a caller is HTML-encoded.
/// </summary>
public static class CheckoutPage
{
    /// <summary>What went wrong with the last post: field problems (by form field name) and/or a message for the whole form.</summary>
    public sealed record Problems(IReadOnlyList<FieldError> Fields, string? Message)
    {
        public static readonly Problems None = new([], null);
    }

    private static readonly (string Name, string Label, string Autocomplete, string Placeholder, int Size)[] CardFields =
    [
        // Placeholders show the shape, never a value a person could take for one already entered.
        ("number", "Card number", "cc-number", "1234 1234 1234 1234", 23),
        ("exp_month", "Expiry month (MM)", "cc-exp-month", "MM", 2),
        ("exp_year", "Expiry year (YYYY)", "cc-exp-year", "YYYY", 4),
        ("cvc", "Security code (CVC)", "cc-csc", "3 or 4 digits", 4),
    ];

    /// <summary>A message a person understands for why the card did not pay.</summary>
    public static string FailureMessage(string? code) => code switch
    {
        ErrorCodes.CardDeclined => "Your card was declined. Try another card.",
        ErrorCodes.InsufficientFunds => "Your card has insufficient funds. Try another card.",
        ConfirmCheckoutPayment.AuthenticationFailed => "The payment was not confirmed with your bank, so nothing was charged. Try again, or use another card.",
        ErrorCodes.RequiresAction => "Your bank asks you to confirm this payment.",
        _ => "The payment did not go through. Try another card.",
    };

    public static string Render(CheckoutView v, string token, Problems problems, IReadOnlyDictionary<string, string>? entered = null)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(problems);
        var s = v.Session;
        var action = $"/checkout/{Uri.EscapeDataString(s.Id)}";
        var q = "?token=" + Uri.EscapeDataString(token);
        string Money(long minor) => v.Currency is { } c ? MoneyFormat.Format(minor, c, trimZeroFraction: false) : minor.ToString(CultureInfo.InvariantCulture);
        var heading = s.Status switch
        {
            CheckoutRules.Complete => s.Mode == CheckoutRules.ModeSetup ? "Card saved" : v.TrialEnd is not null ? "Your trial has started" : "Payment complete",
            CheckoutRules.Expired => "This checkout has expired",
            _ when v.PendingCardLast4 is not null => "Confirm this payment with your bank",
            _ => s.Mode == CheckoutRules.ModeSetup ? "Save a card" : v.TrialEnd is not null ? "Start your free trial" : "Pay " + Money(v.AmountDue),
        };

        var h = new StringBuilder(8 * 1024);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
         .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n")
         .Append("<title>").Append(problems.Fields.Count > 0 || problems.Message is not null ? "Error: " : "").Append(E(heading))
         .Append(v.Seller.Length > 0 ? " — " + E(v.Seller) : "").Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n")
         .Append("<main class=\"checkout\" aria-labelledby=\"page-title\">\n");
        if (v.Seller.Length > 0) h.Append("<p class=\"seller\">").Append(E(v.Seller)).Append("</p>\n");
        h.Append("<h1 id=\"page-title\">").Append(E(heading)).Append("</h1>\n");

        // What is being bought comes first, whatever the state.
        h.Append("<section class=\"summary\" aria-label=\"Order summary\">\n<p class=\"item\" id=\"item\">").Append(E(v.Title)).Append("</p>\n");
        if (v.Lines.Count > 0)
        {
            h.Append("<table class=\"lines\">\n<caption class=\"visually-hidden\">What you pay for</caption>\n<tbody>\n");
            foreach (var (description, amount) in v.Lines)
                h.Append("<tr><th scope=\"row\">").Append(E(description)).Append("</th><td class=\"num\">").Append(E(Money(amount))).Append("</td></tr>\n");
            h.Append("</tbody>\n</table>\n");
        }
        if (v.Currency is { } cur)
            h.Append("<p class=\"total\"><span>").Append(s.Status == CheckoutRules.Complete ? "Paid" : "Total due today").Append("</span> <strong id=\"amount\">")
             .Append(E(Money(v.AmountDue))).Append("</strong> <span class=\"currency\">").Append(E(cur.Code.ToUpperInvariant())).Append("</span></p>\n");
        if (v.TrialEnd is { } te)
            h.Append("<p class=\"note\" id=\"trial\">Nothing is charged today. Your trial runs until ").Append(E(te.UtcDateTime.ToString("MMMM d, yyyy", CultureInfo.InvariantCulture)))
             .Append("; your card is charged when it ends unless you cancel.</p>\n");
        if (s.Mode == CheckoutRules.ModeSetup) h.Append("<p class=\"note\">Nothing is charged now. The card is saved for future payments.</p>\n");
        h.Append("</section>\n");

        if (s.Status == CheckoutRules.Complete)
        {
            h.Append("<p class=\"done\" role=\"status\" id=\"outcome\">")
             .Append(s.Mode == CheckoutRules.ModeSetup ? "Your card was saved." : v.TrialEnd is not null ? "Your card was saved and your trial has started." : "Thank you. Your payment was received.")
             .Append("</p>\n");
            if (CheckoutRules.SuccessRedirect(s) is { } next) h.Append("<p><a class=\"button-link\" href=\"").Append(E(next)).Append("\">Continue</a></p>\n");
            return Close(h);
        }
        if (s.Status == CheckoutRules.Expired)
        {
            h.Append("<p class=\"done\" role=\"status\" id=\"outcome\">Nothing was charged. Start again from the site you came from.</p>\n");
            if (s.CancelUrl is { } back) h.Append("<p><a class=\"button-link\" href=\"").Append(E(back)).Append("\">Return to the site</a></p>\n");
            return Close(h);
        }

        if (s.Livemode)
        {
            // Kassa's own card form serves the sandbox only: raw card numbers never reach a live server. A live
            // session is paid through a provider that hosts its own form (Stripe Checkout, a separate part).
            h.Append("<p role=\"status\" id=\"outcome\">Card payments on this page are not available in live mode yet. Nothing was charged.</p>\n");
            return Close(h);
        }

        // Problems first: a summary at the top, each entry linking to its field.
        var message = problems.Message ?? (s.LastFailureCode is { } code && v.PendingCardLast4 is null ? FailureMessage(code) : null);
        if (problems.Fields.Count > 0 || message is not null)
        {
            h.Append("<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\" id=\"error-summary\">\n")
             .Append("<h2 id=\"error-summary-title\">There is a problem</h2>\n");
            if (message is not null) h.Append("<p id=\"form-error\">").Append(E(message)).Append("</p>\n");
            if (problems.Fields.Count > 0)
            {
                h.Append("<ul>\n");
                foreach (var f in problems.Fields) h.Append("<li><a href=\"#").Append(E(f.Field)).Append("\">").Append(E(FieldMessage(f))).Append("</a></li>\n");
                h.Append("</ul>\n");
            }
            h.Append("</div>\n");
        }

        if (v.PendingCardLast4 is { } last4)
        {
            h.Append("<section class=\"bank\" aria-labelledby=\"bank-title\">\n<h2 id=\"bank-title\">Your bank asks you to confirm</h2>\n")
             .Append("<p>Your bank needs you to approve the payment of <strong>").Append(E(Money(v.AmountDue))).Append("</strong> with the card ending in <strong>")
             .Append(E(last4)).Append("</strong>. This is the test bank's 3-D Secure step.</p>\n")
             .Append("<form method=\"post\" action=\"").Append(E(action + "/confirm" + q)).Append("\" class=\"actions\">\n")
             .Append("<input type=\"hidden\" name=\"nonce\" value=\"").Append(E(s.FormNonce)).Append("\">\n")
             .Append("<button type=\"submit\" name=\"decision\" value=\"confirm\" id=\"confirm\">Confirm payment</button>\n")
             .Append("<button type=\"submit\" name=\"decision\" value=\"cancel\" id=\"cancel-3ds\" class=\"secondary\">Cancel payment</button>\n")
             .Append("</form>\n</section>\n");
            h.Append("<details class=\"other-card\"><summary>Use another card</summary>\n");
            CardForm(h, v, action + "/pay" + q, problems, entered, Money);
            h.Append("</details>\n");
        }
        else
        {
            if (s.LastFailureCode == ConfirmCheckoutPayment.AuthenticationFailed && v.SavedCardLast4 is { } saved)
            {
                h.Append("<form method=\"post\" action=\"").Append(E(action + "/pay" + q)).Append("\" class=\"retry\">\n")
                 .Append("<input type=\"hidden\" name=\"nonce\" value=\"").Append(E(s.FormNonce)).Append("\">\n")
                 .Append("<input type=\"hidden\" name=\"use_saved_card\" value=\"1\">\n")
                 .Append("<button type=\"submit\" id=\"retry\">Try again with the card ending in ").Append(E(saved)).Append("</button>\n</form>\n")
                 .Append("<h2 class=\"or\">Or use another card</h2>\n");
            }
            CardForm(h, v, action + "/pay" + q, problems, entered, Money);
        }
        if (s.CancelUrl is { } cancel) h.Append("<p class=\"cancel\"><a href=\"").Append(E(cancel)).Append("\" id=\"cancel-link\">Cancel and return to the site</a></p>\n");
        return Close(h);
    }

    private static void CardForm(StringBuilder h, CheckoutView v, string action, Problems problems, IReadOnlyDictionary<string, string>? entered, Func<long, string> money)
    {
        var s = v.Session;
        h.Append("<form method=\"post\" action=\"").Append(E(action)).Append("\" class=\"card-form\" novalidate>\n")
         .Append("<input type=\"hidden\" name=\"nonce\" value=\"").Append(E(s.FormNonce)).Append("\">\n")
         .Append("<fieldset>\n<legend>Card details</legend>\n<p class=\"hint\" id=\"test-hint\">Test mode: use 4242 4242 4242 4242, any future expiry and any 3 digits.</p>\n");
        foreach (var (name, label, autocomplete, placeholder, size) in CardFields)
        {
            var error = problems.Fields.FirstOrDefault(f => f.Field == name);
            var describedBy = error is null ? "" : $" aria-invalid=\"true\" aria-describedby=\"{name}-error\"";
            // The card number and CVC are never written back into the page; the expiry is, to save retyping.
            var value = name is "exp_month" or "exp_year" && entered is not null && entered.TryGetValue(name, out var given) ? given : "";
            h.Append("<div class=\"field").Append(name == "number" ? "" : " short").Append(error is null ? "" : " has-error").Append("\">\n<label for=\"").Append(name).Append("\">").Append(E(label)).Append("</label>\n");
            if (error is not null) h.Append("<p class=\"field-error\" id=\"").Append(name).Append("-error\"><span class=\"visually-hidden\">Error: </span>").Append(E(FieldMessage(error))).Append("</p>\n");
            h.Append("<input id=\"").Append(name).Append("\" name=\"").Append(name).Append("\" type=\"text\" inputmode=\"numeric\" autocomplete=\"").Append(autocomplete)
             .Append("\" size=\"").Append(size).Append("\" maxlength=\"").Append(name == "number" ? 23 : size).Append("\" placeholder=\"").Append(E(placeholder)).Append('"')
             .Append(" value=\"").Append(E(value)).Append('"').Append(describedBy).Append(" required>\n</div>\n");
        }
        h.Append("</fieldset>\n<button type=\"submit\" id=\"submit\">")
         .Append(E(s.Mode == CheckoutRules.ModeSetup ? "Save card" : v.TrialEnd is not null ? "Start trial" : "Pay " + money(v.AmountDue))).Append("</button>\n</form>\n");
    }

    /// <summary>A field's problem as a sentence: "Card number is required", "The card has expired".</summary>
    public static string FieldMessage(FieldError f)
    {
        if (f.Message.StartsWith("the ", StringComparison.Ordinal)) return char.ToUpperInvariant(f.Message[0]) + f.Message[1..];
        var label = CardFields.FirstOrDefault(c => c.Name == f.Field).Label ?? f.Field;
        var paren = label.IndexOf(" (", StringComparison.Ordinal);
        return $"{(paren > 0 ? label[..paren] : label)} {f.Message}";
    }

    /// <summary>A plain page for a request that cannot show a checkout at all (an unknown session, a wrong link, a form from elsewhere).</summary>
    public static string Message(string title, string text)
    {
        var h = new StringBuilder(2048);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
         .Append("<meta name=\"robots\" content=\"noindex\">\n<title>").Append(E(title)).Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n")
         .Append("<main class=\"checkout\">\n<h1>").Append(E(title)).Append("</h1>\n<p role=\"alert\" id=\"outcome\">").Append(E(text)).Append("</p>\n");
        return Close(h);
    }

    private static string Close(StringBuilder h) => h.Append("</main>\n</body>\n</html>\n").ToString();

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        :root{color-scheme:light;--ink:#1a1f36;--muted:#4f566b;--line:#d5d9e2;--accent:#3247c6;--error:#b3261e;--ok:#1b6e3a}
        *{box-sizing:border-box}
        body{margin:0;background:#f3f4f7;color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
        .checkout{max-width:32rem;margin:2rem auto;background:#fff;border:1px solid var(--line);border-radius:12px;padding:1.75rem 2rem}
        .seller{margin:0;color:var(--muted);font-weight:600}
        h1{font-size:1.6rem;margin:.25rem 0 1rem}
        h2{font-size:1.1rem;margin:1rem 0 .5rem}
        .summary{border:1px solid var(--line);border-radius:8px;padding:1rem;margin-bottom:1.25rem;background:#fafbfc}
        .item{margin:0 0 .5rem;font-weight:600}
        .lines{width:100%;border-collapse:collapse}
        .lines th{text-align:left;font-weight:400;padding:.25rem 0}
        .lines td{padding:.25rem 0}
        .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .total{display:flex;gap:.5rem;align-items:baseline;margin:.75rem 0 0;border-top:1px solid var(--line);padding-top:.75rem}
        .total strong{font-size:1.4rem;margin-left:auto}
        .currency,.hint,.note{color:var(--muted)}
        .note{margin:.5rem 0 0}
        fieldset{border:0;margin:0;padding:0}
        legend{font-weight:600;font-size:1.1rem;padding:0}
        .field{margin:.9rem 0}
        label{display:block;font-weight:600;margin-bottom:.25rem}
        input{font:inherit;width:100%;padding:.6rem .7rem;border:1px solid #8a91a5;border-radius:6px;color:var(--ink);background:#fff}
        .short input{max-width:11rem}
        .has-error input{border:2px solid var(--error)}
        .field-error{color:var(--error);font-weight:600;margin:.1rem 0 .35rem}
        button,.button-link{display:inline-block;font:inherit;font-weight:600;border:0;border-radius:6px;padding:.75rem 1.25rem;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
        .card-form button[type=submit]{width:100%;margin-top:.5rem;font-size:1.05rem}
        button.secondary{background:#fff;color:var(--accent);border:2px solid var(--accent)}
        .actions{display:flex;gap:.75rem;flex-wrap:wrap}
        :focus-visible{outline:3px solid #f2a900;outline-offset:2px}
        input:focus{outline:3px solid #f2a900;outline-offset:1px}
        .error-summary{border:3px solid var(--error);border-radius:8px;padding:.75rem 1rem;margin-bottom:1rem}
        .error-summary h2{margin-top:0;color:var(--error)}
        .error-summary a{color:var(--error);font-weight:600}
        .error-summary ul{margin:.25rem 0 0;padding-left:1.2rem}
        .bank{border:1px solid var(--line);border-radius:8px;padding:1rem;margin-bottom:1rem;background:#f6f8ff}
        .bank h2{margin-top:0}
        details.other-card{margin-top:1rem}
        details.other-card summary{cursor:pointer;color:var(--accent);font-weight:600}
        .retry button{width:100%}
        .or{font-size:1rem;color:var(--muted);text-align:center}
        .done{font-size:1.1rem;color:var(--ok);font-weight:600}
        .cancel{text-align:center;margin:1.25rem 0 0}
        a{color:var(--accent)}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        @media (max-width:36rem){.checkout{margin:0;border-radius:0;padding:1.25rem}}
        """;
}
