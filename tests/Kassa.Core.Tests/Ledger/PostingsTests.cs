using FsCheck;
using FsCheck.Fluent;
using Kassa.Core.Invoicing;
using Kassa.Core.Ledger;

namespace Kassa.Core.Tests.Ledger;

public class PostingsTests
{
    private static LineInput Line(long amount, LineType type = LineType.Recurring, string? product = null) =>
        new(type, $"line {amount}", 1, amount, amount, ProductId: product);

    private static string Show(JournalEntry e) =>
        string.Join(" ", e.Lines.Select(l => l.Debit > 0 ? $"DR{l.Account.Code}:{l.Debit}" : $"CR{l.Account.Code}:{l.Credit}"));

    [Fact]
    public void A_finalized_invoice_debits_receivables_and_credits_revenue_by_line_with_discount_and_tax()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(2000), Line(999, LineType.Usage)],
            new Coupon(CouponKind.Percentage, 10), new TaxRate("VAT", 19, Inclusive: false)));
        var entry = Postings.InvoiceFinalized("in_1", "usd", figures);
        // total 3212 = 2999 − 300 + 513.
        Assert.Equal("DR1200:3212 CR2200:513 CR4000:2000 CR4001:999 DR4900:300", Show(entry));
        Assert.Equal(entry.Debits, entry.Credits);
        Assert.Equal(new EntrySource("invoice", "in_1", "finalized"), entry.Source);
    }

    [Fact]
    public void Inclusive_tax_is_taken_out_of_revenue()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(1190)], Tax: new TaxRate("VAT", 19, Inclusive: true)));
        Assert.Equal("DR1200:1190 CR2200:190 CR4000:1000", Show(Postings.InvoiceFinalized("in_2", "eur", figures)));
    }

    [Fact]
    public void An_upgrade_invoice_debits_the_unused_time_and_a_negative_total_becomes_customer_credit()
    {
        var upgrade = InvoiceMath.Build(new InvoiceInput([Line(5000), Line(-1500, LineType.Proration)]));
        Assert.Equal("DR1200:3500 CR4000:3500", Show(Postings.InvoiceFinalized("in_3", "usd", upgrade)));
        var downgradeNow = InvoiceMath.Build(new InvoiceInput([Line(1000), Line(-2500, LineType.Proration)]));
        Assert.Equal("CR2000:1500 DR4000:1500", Show(Postings.InvoiceFinalized("in_4", "usd", downgradeNow)));
    }

    [Fact]
    public void Payments_refunds_credit_notes_credit_and_prepaid_use_post_the_spec_pairs()
    {
        Assert.Equal("DR1000:3212 CR1200:3212", Show(Postings.PaymentSucceeded("pay_1", "usd", 3212)));
        Assert.Empty(Postings.PaymentSucceeded("pay_0", "usd", 0).Lines);
        Assert.Equal("CR1000:500 DR4950:500", Show(Postings.Refunded("re_1", "usd", 500)));
        Assert.Equal("CR2000:700 DR4950:700", Show(Postings.CreditNoteAsCredit("cn_1", "usd", 700)));
        Assert.Equal("CR1200:700 DR2000:700", Show(Postings.CustomerCreditApplied("in_5", "usd", 700)));
        Assert.Equal("DR2100:40 CR4001:40", Show(Postings.PrepaidCreditsConsumed("track", "mev_1", "usd", 40)));
        // Each recognition step is named by the cumulative total it reaches: two steps, two sources; a rerun of one, the same source.
        var step = Postings.PrepaidCreditsRecognized("grant_1", "usd", 250, 1250);
        Assert.Equal("DR2100:250 CR4001:250", Show(step));
        Assert.Equal(new EntrySource("credit_grant", "grant_1", "prepaid_consumed_1250"), step.Source);
        Assert.NotEqual(step.Source, Postings.PrepaidCreditsRecognized("grant_1", "usd", 250, 1500).Source);
        Assert.Throws<ArgumentOutOfRangeException>(() => Postings.Refunded("re_2", "usd", -1));
    }

    [Fact]
    public void A_dispute_moves_cash_to_disputed_funds_and_back_when_won_or_to_disputes_lost_when_lost()
    {
        var opened = Postings.DisputeOpened("dp_1", "usd", 2500);
        Assert.Equal("CR1000:2500 DR1300:2500", Show(opened));
        Assert.Equal(new EntrySource("dispute", "dp_1", "opened"), opened.Source);
        var won = Postings.DisputeWon("dp_1", "usd", 2500);
        Assert.Equal("DR1000:2500 CR1300:2500", Show(won));
        var lost = Postings.DisputeLost("dp_2", "usd", 900);
        Assert.Equal("CR1300:900 DR4960:900", Show(lost));
        Assert.Equal(new EntrySource("dispute", "dp_2", "lost"), lost.Source);
        // Won: disputed funds back to zero, cash whole again. Lost: disputed funds zero, the loss in 4960.
        var trial = TrialBalance.Of([Postings.PaymentSucceeded("pay_1", "usd", 2500), opened, won, Postings.DisputeOpened("dp_2", "usd", 900), lost]);
        Assert.Equal(trial.Debits, trial.Credits);
        Assert.Equal((0L, 1600L, 900L), (trial.BalanceOf(Chart.DisputedFunds), trial.BalanceOf(Chart.Cash), trial.BalanceOf(Chart.DisputesLost)));
        Assert.Equal(AccountType.ContraRevenue, Chart.DisputesLost.Type);
        Assert.Equal(AccountType.Asset, Chart.DisputedFunds.Type);
        Assert.Throws<ArgumentOutOfRangeException>(() => Postings.DisputeOpened("dp_3", "usd", -1));
    }

    [Fact]
    public void A_payment_whose_invoice_left_receivables_meanwhile_is_owed_back_as_customer_credit_under_the_payments_source()
    {
        var entry = Postings.PaymentToCustomerCredit("pay_7", "usd", 1250);
        Assert.Equal("DR1000:1250 CR2000:1250", Show(entry));
        // The same source key as a normal success: one payment can post "succeeded" only once, either way.
        Assert.Equal(Postings.PaymentSucceeded("pay_7", "usd", 1250).Source, entry.Source);
        Assert.Throws<ArgumentOutOfRangeException>(() => Postings.PaymentToCustomerCredit("pay_8", "usd", -1));
    }

    [Fact]
    public void Every_line_type_credits_its_revenue_account_and_inclusive_tax_is_carved_out_per_line()
    {
        var figures = InvoiceMath.Build(new InvoiceInput(
            [Line(1200), Line(600, LineType.OneTime), Line(-240, LineType.Proration), Line(360, LineType.Usage), Line(120, LineType.PriorPeriod), Line(240, LineType.Manual)],
            Tax: new TaxRate("VAT", 20, Inclusive: true)));
        // Recurring, one-time, proration and manual lines are subscription revenue (4000); usage and late usage are usage revenue (4001).
        // Inclusive 20 %: the tax in each line is amount × 20 / 120 (1200 → 200, 600 → 100, −240 → −40, 360 → 60, 120 → 20, 240 → 40) = 380.
        Assert.Equal("DR1200:2280 CR2200:380 CR4000:1500 CR4001:400", Show(Postings.InvoiceFinalized("in_7", "usd", figures)));
    }

    [Fact]
    public void A_credit_note_on_an_open_invoice_lowers_receivables_and_a_manual_credit_adjustment_moves_2000_against_4950()
    {
        Assert.Equal("CR1200:450 DR4950:450", Show(Postings.CreditNoteOnOpenInvoice("cn_2", "usd", 450)));
        Assert.Equal(new EntrySource("credit_note", "cn_2", "issued"), Postings.CreditNoteOnOpenInvoice("cn_2", "usd", 450).Source);
        Assert.Equal("CR2000:1000 DR4950:1000", Show(Postings.CustomerCreditAdjusted("cbtx_1", "usd", 1000)));
        Assert.Equal("DR2000:300 CR4950:300", Show(Postings.CustomerCreditAdjusted("cbtx_2", "usd", -300)));
        Assert.Equal(new EntrySource("customer_credit", "cbtx_2", "adjusted"), Postings.CustomerCreditAdjusted("cbtx_2", "usd", -300).Source);
        Assert.Throws<ArgumentOutOfRangeException>(() => Postings.CustomerCreditAdjusted("cbtx_3", "usd", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Postings.CreditNoteOnOpenInvoice("cn_3", "usd", -1));
        // A void of the credit note is its exact mirror.
        Assert.Equal("DR1200:450 CR4950:450", Show(Postings.CreditNoteOnOpenInvoice("cn_2", "usd", 450).Reverse(new EntrySource("credit_note", "cn_2", "voided"))));
    }

    [Fact]
    public void A_void_is_the_exact_reverse_and_leaves_every_account_at_zero()
    {
        var figures = InvoiceMath.Build(new InvoiceInput([Line(2000), Line(999, LineType.Usage)], new Coupon(CouponKind.Fixed, 250), new TaxRate("t", 7.5m, false)));
        var finalized = Postings.InvoiceFinalized("in_6", "usd", figures);
        var voided = Postings.InvoiceVoided(finalized);
        Assert.Equal(new EntrySource("invoice", "in_6", "voided"), voided.Source);
        var trial = TrialBalance.Of([finalized, voided]);
        Assert.All(trial.Accounts, r => Assert.Equal(0, r.Balance));
        Assert.Equal(trial.Debits, trial.Credits);
    }

    [Fact]
    public void An_unbalanced_entry_is_refused()
    {
        Assert.Throws<InvalidOperationException>(() =>
            JournalEntry.Create(new EntrySource("manual", "x", "bad"), "usd", [(Chart.Cash, 100), (Chart.Receivable, -99)]));
    }

    private static readonly Gen<LineInput> LineGen =
        from amount in Gen.Choose(-100_000, 1_000_000)
        from type in Gen.Elements(LineType.Recurring, LineType.Usage, LineType.Proration, LineType.OneTime, LineType.PriorPeriod)
        select new LineInput(type, "x", 1, amount, amount);

    private static readonly Gen<InvoiceInput> InvoiceGen =
        from lines in Gen.ListOf(LineGen).Select(l => l.Take(8).ToArray())
        from pct in Gen.Choose(0, 100)
        from useCoupon in Gen.Elements(false, true)
        from taxBp in Gen.Choose(0, 3000)
        from inclusive in Gen.Elements(false, true)
        from credit in Gen.Choose(0, 500_000)
        select new InvoiceInput(lines, useCoupon ? new Coupon(CouponKind.Percentage, pct) : null, new TaxRate("t", taxBp / 100m, inclusive), credit);

    [Fact]
    public void Every_invoice_posts_a_balanced_entry_and_receivables_equal_what_is_still_due()
    {
        // Finalize, apply customer credit, then pay part of what is due: the self-check the billing
        // scenarios will run — debits = credits, and receivables = the open invoices' amount due.
        Prop.ForAll(Gen.ListOf(InvoiceGen).Select(l => l.Take(6).ToArray()).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(), (invoices, paidPercent) =>
        {
            var entries = new List<JournalEntry>();
            long stillDue = 0;
            for (var i = 0; i < invoices.Length; i++)
            {
                var f = InvoiceMath.Build(invoices[i]);
                var finalized = Postings.InvoiceFinalized($"in_{i}", "usd", f);
                if (finalized.Debits != finalized.Credits) return false;
                entries.Add(finalized);
                if (f.CreditApplied > 0) entries.Add(Postings.CustomerCreditApplied($"in_{i}", "usd", f.CreditApplied));
                var paid = f.AmountDue * paidPercent / 100;
                if (paid > 0) entries.Add(Postings.PaymentSucceeded($"pay_{i}", "usd", paid));
                stillDue += f.AmountDue - paid;
            }
            var trial = TrialBalance.Of(entries);
            return trial.Debits == trial.Credits && trial.BalanceOf(Chart.Receivable) == stillDue;
        }).QuickCheckThrowOnFailure();
    }
}
