using System.Text;
using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.ProviderWebhooks;
using Kassa.Engine.Storage;
using Kassa.Server.Http;
using Kassa.Server.Workers;

namespace Kassa.Server.Endpoints;

/// <summary>The sandbox provider's configuration as <c>GET /v1/providers/sandbox</c> shows it (test mode).</summary>
public sealed record SandboxProviderConfig(string Provider, string WebhookSecret, string WebhookUrl)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)] public string Object => "provider_config";
}

/// <summary>
/// Issue 13: provider webhooks. <c>POST /v1/providers/{provider}/webhooks?account_id=&amp;livemode=</c> takes
/// deliveries from a payment provider without an API key (the provider's signature, checked against the
/// named tenant's secret, is the authentication) and runs them through <see cref="ReceiveProviderWebhook"/>.
/// Also the sandbox's configuration and its dispute simulator.
/// </summary>
public static class ProviderWebhookEndpoints
{
    /// <summary>
    /// The largest delivery read (256 KiB): a provider event carries one object, far below this. A
    /// larger body is refused before anything else, which with the per-tenant rate limit bounds what an
    /// anonymous sender can make the server do.
    /// </summary>
    public const int BodyBytesMax = 256 << 10;

    /// <summary>Account ids are short; a longer one in the query is refused before any lookup.</summary>
    private const int AccountIdLengthMax = 64;

    public static void Map(RouteGroupBuilder v1)
    {
        const string tag = "Provider webhooks";
        v1.MapPost("/providers/{provider}/webhooks", Receive)
            .WithMetadata(SignedTokenAccess.Instance)
            .Doc("receiveProviderWebhook",
                "A payment provider's webhook delivery (no API key: the signature is checked against the tenant's secret); deduplicated by event id, applied once",
                tag)
            .Produces<ProviderWebhookReceipt>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404, 409, 413);
        v1.MapGet("/providers/sandbox", (HttpContext http, IKassaStore store) => SandboxConfig(http, store))
            .Doc("getSandboxProvider", "The sandbox provider's webhook secret and the URL its deliveries go to (test mode)", tag)
            .Produces<SandboxProviderConfig>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors();
        v1.MapPost("/test_helpers/payments/{id}/dispute", (HttpContext http, Api api, string id) =>
                api.Mutate<SimulateSandboxDispute.Request, Kassa.Engine.Disputes.DisputeResource>(http,
                    (s, op, b) => SimulateSandboxDispute.Execute(s, op, http.RequestServices.GetRequiredService<SandboxWebhookReader>(), id, b, CancellationToken.None),
                    d => new Reply(StatusCodes.Status200OK, d)))
            .Doc("simulateDispute", "Test mode: the sandbox opens or moves the dispute of a payment through a signed provider event, as a real provider would", tag)
            .Body<SimulateSandboxDispute.Request>().Produces<Kassa.Engine.Disputes.DisputeResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType)
            .MutationErrors(404);
    }

    /// <summary>The address a tenant registers at the provider (relative: prefix it with the server's public address).</summary>
    public static string WebhookUrl(string provider, Tenant tenant) =>
        $"/v1/providers/{Uri.EscapeDataString(provider)}/webhooks?account_id={Uri.EscapeDataString(tenant.AccountId)}&livemode={(tenant.Livemode ? "true" : "false")}";

    private static async Task SandboxConfig(HttpContext http, IKassaStore store)
    {
        var tenant = http.Principal().Tenant;
        if (tenant.Livemode)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.TestModeOnly, "The sandbox provider serves test mode only"));
            return;
        }
        // A write transaction: the first call anywhere creates the server key the secrets derive from.
        var secret = await store.WriteAsync(s => SandboxWebhookReader.SecretAsync(s, tenant), ct: http.RequestAborted);
        await ApiResponses.WriteJson(http, StatusCodes.Status200OK, new SandboxProviderConfig(SandboxWebhookReader.ProviderName, secret,
            WebhookUrl(SandboxWebhookReader.ProviderName, tenant)));
    }

    private static async Task Receive(HttpContext http, IKassaStore store, RateLimits limits, TimeProvider time, WebhookSignal signal, string provider,
        string? account_id, string? livemode)
    {
        var reader = http.RequestServices.GetServices<IProviderWebhookReader>().FirstOrDefault(r => r.Provider == provider);
        if (reader is null)
        {
            await ApiResponses.WriteError(http, KassaError.NotFound("provider", provider));
            return;
        }
        if (account_id is null || livemode is null)
        {
            await ApiResponses.WriteError(http, KassaError.Missing(account_id is null ? "account_id" : "livemode"));
            return;
        }
        if (account_id.Length is 0 or > AccountIdLengthMax)
        {
            await ApiResponses.WriteError(http, KassaError.Validation("account_id", $"must be an account id of 1 to {AccountIdLengthMax} characters"));
            return;
        }
        if (livemode is not ("true" or "false"))
        {
            await ApiResponses.WriteError(http, KassaError.Validation("livemode", "must be true or false"));
            return;
        }
        // No API key, so the per-key limit does not apply; the same token bucket per tenant does, so a
        // flood of forged deliveries cannot cost more than a key's own traffic.
        if (limits.TryAcquire($"provider_webhooks:{account_id}") is { } wait)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.RateLimited, "Too many webhook deliveries for this account; retry after the time in Retry-After"));
            return;
        }
        var body = await ReadBodyAsync(http);
        if (!body.IsOk)
        {
            await ApiResponses.WriteError(http, body.Error!);
            return;
        }

        var tenant = new Tenant(account_id, livemode == "true");
        var op = new OperationContext(tenant, new Actor("provider", reader.Provider), http.RequestId(), time.GetUtcNow());
        var headers = http.Request.Headers;
        var delivery = new ProviderDelivery(body.Value, name => headers.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null);
        var checkout = http.RequestServices.GetService<ICheckoutCompletedHandler>();
        var result = await store.WriteAsync(s => ReceiveProviderWebhook.Execute(s, op, reader, delivery, checkout, CancellationToken.None),
            commitIf: r => r.IsOk, ct: CancellationToken.None);
        if (!result.IsOk)
        {
            await ApiResponses.WriteError(http, result.Error!);
            return;
        }
        // Effects emit events: wake the outgoing webhook delivery at once.
        if (!result.Value.Duplicate) signal.Poke();
        await ApiResponses.WriteJson(http, StatusCodes.Status200OK, result.Value);
    }

    /// <summary>The raw body, exactly as sent (the signature covers these bytes), up to <see cref="BodyBytesMax"/>.</summary>
    private static async Task<Result<string>> ReadBodyAsync(HttpContext http)
    {
        var tooLarge = new KassaError(ErrorCodes.PayloadTooLarge, $"Provider webhook deliveries may be at most {BodyBytesMax} bytes");
        if (http.Request.ContentLength > BodyBytesMax) return tooLarge;
        var buffer = new byte[BodyBytesMax + 1];
        var length = 0;
        try
        {
            while (length < buffer.Length)
            {
                var read = await http.Request.Body.ReadAsync(buffer.AsMemory(length), http.RequestAborted);
                if (read == 0) break;
                length += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return tooLarge;
        }
        if (length > BodyBytesMax) return tooLarge;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return new KassaError(ErrorCodes.MalformedJson, "The body is not UTF-8 text");
        }
    }
}
