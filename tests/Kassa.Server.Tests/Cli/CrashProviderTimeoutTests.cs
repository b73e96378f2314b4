using System.Net;
using Kassa.Core.Payments;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Server.Tests.Infrastructure;
using Kassa.Server.Tests.Support;

namespace Kassa.Server.Tests.Cli;

/// <summary>
/// Issue 13 item 6 (sandbox): a provider call that times out after the provider did charge. The request
/// gives up with the attempt still <c>processing</c> (nothing recorded, the invoice still open), and the
/// reconcile worker finishes it with the same provider key: one charge, one payment, one entry. Runs on
/// both engines.
/// </summary>
public abstract class CrashProviderTimeoutTests(KassaHost host)
{
    /// <summary>Counts the sandbox's charges; when <c>timeOut</c>, charges and then throws as an HTTP client's timeout would.</summary>
    private sealed class CountingProvider(bool timeOut) : IPaymentProvider
    {
        private readonly SandboxProvider _inner = new();
        private readonly List<string> _charges = [];

        public IReadOnlyList<string> Charges
        {
            get
            {
                lock (_charges) return [.. _charges];
            }
        }

        public string Name => _inner.Name;

        public Task<AttachResult> AttachCardAsync(string customerId, CardInput card, DateTimeOffset now, CancellationToken ct) => _inner.AttachCardAsync(customerId, card, now, ct);

        public async Task<ChargeResult> ChargeAsync(string methodToken, long amountMinor, string currency, string idempotencyKey, CancellationToken ct)
        {
            var charged = await _inner.ChargeAsync(methodToken, amountMinor, currency, idempotencyKey, ct);
            lock (_charges) _charges.Add(charged.ProviderChargeId);
            if (timeOut) throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException());
            return charged;
        }

        public Task<RefundResult> RefundAsync(string providerChargeId, long amountMinor, string currency, string idempotencyKey, CancellationToken ct) =>
            _inner.RefundAsync(providerChargeId, amountMinor, currency, idempotencyKey, ct);
    }

    [Fact]
    public async Task A_charge_that_times_out_after_the_provider_charged_stays_processing_and_reconcile_finishes_it_with_one_charge()
    {
        var account = await host.NewAccountAsync();
        var c = host.Client(account.TestSecretKey);
        var customer = Wire.NewId("cus");
        Assert.Equal(HttpStatusCode.Created, (await c.Put($"/v1/customers/{customer}", new { name = "Ada" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await c.Post("/v1/payment_methods",
            new { customer_id = customer, card = new { number = "4242424242424242", exp_month = 12, exp_year = 2040, cvc = "123" } })).Status);
        var invoice = (string)(await c.Post("/v1/invoices", new { customer_id = customer, currency = "usd", description = "Consulting" })).Body!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{invoice}/lines", new { description = "Line", amount = 4200 })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/v1/invoices/{invoice}/finalize")).Status);

        var now = host.Clock.GetUtcNow();
        var op = new OperationContext(new Tenant(account.AccountId, false), Actor.System, "req_test", now);
        var paymentId = (await host.Store.WriteAsync(s => ChargeInvoice.BeginAsync(s, op, invoice, null), r => r.IsOk)).Value!;
        var slow = new CountingProvider(timeOut: true);
        await Assert.ThrowsAsync<TaskCanceledException>(() => ChargeInvoice.CompleteAsync(host.Store, new PaymentProviders(slow), op, paymentId, CancellationToken.None));
        var charged = Assert.Single(slow.Charges);
        Assert.Equal("processing", (string?)(await c.Get($"/v1/payments/{paymentId}")).Body!["status"]);
        Assert.Equal(("open", 4200L), ((string?)(await c.Get($"/v1/invoices/{invoice}")).Body!["status"], (long)(await c.Get($"/v1/invoices/{invoice}")).Body!["amount_due"]!));

        var healthy = new CountingProvider(timeOut: false);
        // Within the grace period the attempt is left to its request; after it, reconcile completes it once.
        Assert.Equal(0, (await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(healthy), now, CancellationToken.None)).Payments);
        var later = now + ReconcilePayments.Grace + TimeSpan.FromSeconds(1);
        Assert.Equal(new ReconcilePayments.Report(1, 0, 0), await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(healthy), later, CancellationToken.None));
        Assert.Equal(new ReconcilePayments.Report(0, 0, 0), await ReconcilePayments.RunOnceAsync(host.Store, new PaymentProviders(healthy), later, CancellationToken.None));

        // The provider was asked again with the same key and answered the same charge: one charge in all.
        Assert.Equal([charged], healthy.Charges);
        var payment = (await c.Get($"/v1/payments/{paymentId}")).Body!;
        Assert.Equal(("succeeded", charged, 4200L), ((string?)payment["status"], (string?)payment["provider_charge_id"], (long)payment["amount"]!));
        var paid = (await c.Get($"/v1/invoices/{invoice}")).Body!;
        Assert.Equal(("paid", 4200L, 0L), ((string?)paid["status"], (long)paid["amount_paid"]!, (long)paid["amount_due"]!));
        var entries = (await c.Get($"/v1/ledger/entries?customer_id={customer}&limit=100")).Body!["data"]!.AsArray()
            .Select(e => $"{(string?)e!["source"]!["type"]}/{(string?)e["source"]!["action"]}: "
                + string.Join("; ", e["lines"]!.AsArray().Select(l => $"{(string?)l!["account_code"]} DR {(long)l["debit"]!} CR {(long)l["credit"]!}")))
            .Order(StringComparer.Ordinal);
        Assert.Equal(["invoice/finalized: 1200 DR 4200 CR 0; 4000 DR 0 CR 4200", "payment/succeeded: 1000 DR 4200 CR 0; 1200 DR 0 CR 4200"], entries);
        await LedgerSelfCheck.AssertHoldsAsync(c);
    }
}

public sealed class CrashProviderTimeoutTestsSqlite(SqliteHost host) : CrashProviderTimeoutTests(host), IClassFixture<SqliteHost>;

public sealed class CrashProviderTimeoutTestsPostgres(PostgresHost host) : CrashProviderTimeoutTests(host), IClassFixture<PostgresHost>;
