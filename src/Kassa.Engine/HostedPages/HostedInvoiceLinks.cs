using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Kassa.Engine.Common;
using Kassa.Engine.Storage;

namespace Kassa.Engine.HostedPages;

/// <summary>
/// The signed, unguessable address of an invoice's hosted page: <c>/v1/invoices/{id}.html?token=…</c>,
/// where the token names the tenant and carries an HMAC-SHA256 over tenant and invoice id. Whoever holds
/// the URL may read that one invoice (like a Stripe hosted invoice link); nothing else.
/// <para>
/// The HMAC key is a server-wide secret of 32 random bytes kept in the database (<c>kassa_meta</c>, row
/// <see cref="SecretName"/>), so every node of one database signs and verifies alike. It never appears
/// in an API response, an event or a log. <see cref="UseStoredSecretAsync"/> runs at <c>kassa serve</c>
/// start: the first node stores its random candidate, every node adopts the stored value. A process that
/// never calls it (an in-process test host) signs with its own random key, valid for its lifetime only.
/// </para>
/// <para>
/// Why process-wide state: the address is part of every invoice resource, built by the pure
/// <c>InvoiceResource.From</c> in many use cases; threading a signer through each would touch code other
/// areas own. A process serves one database, so one key per process is exact; the first database
/// adopted wins (a second one, which only tests open, keeps signing with the first key).
/// </para>
/// </summary>
public static class HostedInvoiceLinks
{
    public const string SecretName = "hosted_invoice_page_secret";

    /// <summary>Invoice ids and account ids are short; a longer token is refused before any work.</summary>
    public const int TokenLengthMax = 300;

    private static byte[] s_key = RandomNumberGenerator.GetBytes(32);
    private static int s_adopted;

    /// <summary>Stores this process's candidate secret unless the database has one, then signs with the stored one.</summary>
    public static async Task UseStoredSecretAsync(IKassaStore store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var candidate = Convert.ToBase64String(s_key);
        var stored = await store.WriteAsync(s => s.Meta.GetOrAddAsync(SecretName, candidate), ct: ct);
        if (Interlocked.CompareExchange(ref s_adopted, 1, 0) == 0) s_key = Convert.FromBase64String(stored);
    }

    /// <summary>The relative hosted address of an invoice (prefix it with the server's public address).</summary>
    public static string Url(string accountId, bool livemode, string invoiceId) =>
        $"/v1/invoices/{Uri.EscapeDataString(invoiceId)}.html?token={Token(new Tenant(accountId, livemode), invoiceId)}";

    public static string Token(Tenant tenant, string invoiceId) => TokenFor(InvoicePurpose, tenant, invoiceId);

    private const string InvoicePurpose = "hosted_invoice";

    /// <summary>
    /// A token for another kind of hosted page (the checkout's <c>checkout_session</c>): the same key, with
    /// the purpose in the signed text, so a token of one kind never opens a page of another.
    /// </summary>
    internal static string TokenFor(string purpose, Tenant tenant, string id)
    {
        var who = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{tenant.AccountId}.{(tenant.Livemode ? "live" : "test")}"));
        return $"{who}.{Base64Url.EncodeToString(Mac(purpose, tenant, id))}";
    }

    /// <summary>The tenant a token grants <paramref name="invoiceId"/> to, or null for any token that is not exactly right.</summary>
    public static Tenant? Verify(string invoiceId, string? token) => VerifyFor(InvoicePurpose, invoiceId, token);

    /// <summary>The tenant a token of <paramref name="purpose"/> grants <paramref name="id"/> to, or null.</summary>
    internal static Tenant? VerifyFor(string purpose, string id, string? token)
    {
        if (token is null || token.Length > TokenLengthMax) return null;
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0) return null;
        string who;
        byte[] mac;
        try
        {
            who = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.AsSpan(0, dot)));
            mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return null;
        }
        var modeAt = who.LastIndexOf('.');
        if (modeAt <= 0 || who[(modeAt + 1)..] is not ("live" or "test")) return null;
        var tenant = new Tenant(who[..modeAt], who[(modeAt + 1)..] == "live");
        // Constant-time, so the time of a refusal says nothing about how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(mac, Mac(purpose, tenant, id)) ? tenant : null;
    }

    private static byte[] Mac(string purpose, Tenant tenant, string id) =>
        HMACSHA256.HashData(s_key, Encoding.UTF8.GetBytes($"kassa.{purpose}.v1|{tenant.AccountId}|{(tenant.Livemode ? "live" : "test")}|{id}"));
}
