using Kassa.Core.Errors;
using Kassa.Engine.Common;
using Kassa.Engine.HostedPages;
using Kassa.Engine.Storage;
using Kassa.Server.Http;

namespace Kassa.Server.Endpoints;

/// <summary>
/// Endpoint metadata: the route may also be called without an API key (its handler then checks a signed
/// token itself). With an <c>Authorization</c> header the key is checked as everywhere else.
/// </summary>
public sealed class SignedTokenAccess
{
    public static readonly SignedTokenAccess Instance = new();
}

/// <summary>Spec §7: the printable hosted page of an invoice, <c>GET /v1/invoices/{id}.html</c>.</summary>
public static class HostedPageEndpoints
{
    public const string HtmlContentType = "text/html; charset=utf-8";

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/invoices/{id}.html", Page)
            .WithMetadata(SignedTokenAccess.Instance)
            .Doc("getInvoicePage",
                "The invoice as a printable HTML page (inline CSS, no script). With a secret key, or without one through the signed hosted_url of the invoice; a wrong or missing token is 404", "Invoices")
            .Produces<string>(StatusCodes.Status200OK, "text/html").Errors(404);
    }

    private static async Task Page(HttpContext http, IKassaStore store, string id, string? token)
    {
        // Without a key only the token speaks; any token that is not exactly right is the same 404 as a
        // missing invoice, so the page never tells a guesser that an id exists.
        var tenant = http.Features.Get<Principal>()?.Tenant ?? HostedInvoiceLinks.Verify(id, token);
        if (tenant is not { } t)
        {
            await ApiResponses.WriteError(http, KassaError.NotFound("invoice", id));
            return;
        }
        var page = await store.ReadAsync(s => GetHostedInvoicePage.Execute(s, t, id), http.RequestAborted);
        if (!page.IsOk)
        {
            await ApiResponses.WriteError(http, page.Error!);
            return;
        }
        var headers = http.Response.Headers;
        // Nothing but the inline style may load; the token in the address must not leak through a
        // Referer, the page must not be cached by shared caches or framed by another site.
        headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "private, no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["X-Robots-Tag"] = "noindex";
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = HtmlContentType;
        await http.Response.WriteAsync(page.Value, http.RequestAborted);
    }
}
