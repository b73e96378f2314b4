using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Kassa.Engine.Accounts;
using Kassa.Engine.Balances;
using Kassa.Engine.Catalog;
using Kassa.Engine.Common;
using Kassa.Engine.Customers;
using Kassa.Engine.Json;
using Kassa.Engine.Payments;
using Kassa.Engine.Storage;
using Kassa.Engine.Subscriptions;
using Kassa.Storage;

// The renewal benchmark (issue 12): seeds N paid monthly subscriptions with a saved sandbox card and
// usage past the plan's allowance, then runs one renewal round at the period end exactly as the
// renewal worker does (RunRenewals: one transaction per subscription for the invoice with its fee in
// advance and its usage in arrears, finalized and posted, then the charge and its outcome) and times it.
// Prints one line: engine, subscriptions, seconds, invoices per second, charges.
//
// Usage: kassa-bench-renewals --db <sqlite file | PostgreSQL connection string> --subscriptions N [--chunk 500] [--phase both|seed|renew]
// (--phase seed leaves a seeded database; --phase renew renews whatever is due a month and a day from now, so
// one seeded copy can be renewed under different builds or settings.)

var db = Arg("--db") ?? throw new ArgumentException("--db is required");
var count = int.Parse(Arg("--subscriptions") ?? "10000", CultureInfo.InvariantCulture);
var chunk = int.Parse(Arg("--chunk") ?? "500", CultureInfo.InvariantCulture);
var phase = Arg("--phase") ?? "both";
if (phase is not ("both" or "seed" or "renew")) throw new ArgumentException("--phase both|seed|renew");
if (count < 1 || count > 1_000_000 || chunk < 1 || chunk > 5_000) throw new ArgumentException("--subscriptions 1..1,000,000, --chunk 1..5,000");

var clock = new SettableClock(DateTimeOffset.UtcNow);
await using var store = StoreFactory.Open(db, clock);
await store.MigrateAsync();
var providers = new PaymentProviders(new SandboxProvider());
if (phase == "renew")
{
    clock.Set(clock.GetUtcNow().AddMonths(1).AddDays(1));
    return await RenewAsync();
}
var created = (await store.WriteAsync(s => CreateAccount.Execute(s, clock.GetUtcNow(), $"bench {Guid.NewGuid():N}"))).Value!;
var tenant = new Tenant(created.AccountId, false);
OperationContext Op() => new(tenant, Actor.System, "bench", clock.GetUtcNow());

T Body<T>(string json) => JsonSerializer.Deserialize<T>(json, KassaJson.Options)!;
await store.WriteAsync(async s =>
{
    var op = Op();
    (await CreateFeature.Execute(s, op, Body<CreateFeature.Request>("""{"id":"calls","name":"Calls","type":"metered"}"""))).Value!.ToString();
    var product = await CreateProduct.Execute(s, op, Body<CreateProduct.Request>("""
        {"id":"pro","name":"Pro","prices":[
          {"type":"recurring","amount":2000,"currency":"usd","interval":"month","interval_count":1},
          {"type":"usage","feature_id":"calls","currency":"usd","billing":"in_arrears","model":"graduated",
           "tiers":[{"up_to":100,"unit_amount_decimal":"0.5"},{"up_to":null,"unit_amount_decimal":"0.25","flat_amount":10}]}],
         "features":[{"feature_id":"calls","included":1000,"reset":"month","overage":"billed"}]}
        """));
    if (!product.IsOk) throw new InvalidOperationException(product.Error!.Message);
    return true;
});

// Seeding: customers, cards and subscriptions in chunks (one transaction each), the first invoices'
// charges completed, then each customer's usage set past the allowance. Not timed as the figure.
var seed = Stopwatch.StartNew();
for (var first = 0; first < count; first += chunk)
{
    var size = Math.Min(chunk, count - first);
    var payments = await store.WriteAsync(async s =>
    {
        var op = Op();
        var ids = new List<string>(size);
        for (var i = first; i < first + size; i++)
        {
            var id = $"bench_cus_{i}";
            Check(await CreateCustomer.Execute(s, op, new CreateCustomer.Request(id, null, $"Customer {i}", null, null)));
            Check(await AttachPaymentMethod.Execute(s, op, providers,
                new AttachPaymentMethod.Request(id, new AttachPaymentMethod.CardRequest("4242424242424242", 12, 2040, "123")), CancellationToken.None));
            var started = Check(await Subscribe.Execute(s, op, new Subscribe.Request(id, "pro", null, null, null, null, null)));
            ids.Add(started.PaymentId!);
        }
        return ids;
    });
    await ChargeInvoice.CompleteManyAsync(store, providers, [.. payments.Select(id => (Op(), id))], CancellationToken.None);
    await store.WriteAsync(async s =>
    {
        var op = Op();
        for (var i = first; i < first + size; i++)
            Check(await AdjustBalance.Execute(s, op, $"bench_cus_{i}", new AdjustBalance.Request("calls", 1000 + 150 + i % 50, null, "bench usage")));
        return true;
    });
    if ((first / chunk) % 20 == 0) Console.Error.WriteLine($"seeded {first + size}/{count} in {seed.Elapsed.TotalSeconds:F0} s");
}
Console.Error.WriteLine($"seeded {count} in {seed.Elapsed.TotalSeconds:F1} s");

if (phase == "seed") return 0;

// The run: every subscription's period ended a day ago.
clock.Set(clock.GetUtcNow().AddMonths(1).AddDays(1));
return await RenewAsync();

async Task<int> RenewAsync()
{
    var run = Stopwatch.StartNew();
    var failures = 0;
    var summary = await RunRenewals.RunAsync(store, providers, clock.GetUtcNow(),
        e => { if (Interlocked.Increment(ref failures) <= 3) Console.Error.WriteLine(e); }, CancellationToken.None);
    run.Stop();
    var seconds = run.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"[bench] renewals engine={store.Engine} subscriptions={count} renewed={summary.Renewed} invoices={summary.Invoices} charges={summary.Charges} failures={summary.Failures} seconds={seconds:F1} invoices_per_s={summary.Invoices / seconds:F0}"));
    return summary.Renewed == count && summary.Failures == 0 ? 0 : 1;
}

static T Check<T>(Kassa.Core.Errors.Result<T> r) => r.IsOk ? r.Value : throw new InvalidOperationException(r.Error!.Message);

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>Real time, moved forward by the run to the subscriptions' period end.</summary>
sealed class SettableClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public void Set(DateTimeOffset now) => _now = now;
    public override DateTimeOffset GetUtcNow() => _now;
}
