using Kassa.Core.Errors;
using Kassa.Engine.Checkout;
using Kassa.Engine.Common;
using Kassa.Engine.Payments;
using Kassa.Engine.Resources;
using Kassa.Engine.Storage;
using Kassa.Server.Http;
using Kassa.Server.Pages;

namespace Kassa.Server.Endpoints;

/// <summary>
/// Spec §8 hosted checkout: the API (<c>/v1/checkout_sessions</c>, secret key) and the page itself
/// (<c>/checkout/{id}?token=…</c>, no key: the signed token in the session's <c>url</c> is the access).
/// The page's POST handlers accept a form only with the session's nonce, from the page's own origin
/// (<c>Origin</c> / <c>Sec-Fetch-Site</c>), and answer 303 after a change (post/redirect/get), or the page
/// again with what went wrong (400 a field, 402 a refused card, 403 a form from elsewhere, 409 a payment in
/// progress). An unknown session and a wrong token are the same 404, so a guess learns nothing.
/// </summary>
public static class CheckoutEndpoints
{
    private const string Tag = "Checkout";

    /// <summary>A form post larger than this is refused before it is read (the card form is a few hundred bytes).</summary>
    public const int FormBytesMax = 8 * 1024;

    public static void Map(IEndpointRouteBuilder app, RouteGroupBuilder v1)
    {
        v1.MapPost("/checkout_sessions", async (HttpContext http, Api api, PaymentProviders providers) =>
            {
                // Resolved before the transaction: reading a provider's configuration must not wait inside one.
                var provider = await providers.ForAsync(api.Operation(http).Tenant, http.RequestAborted);
                await api.Mutate<CreateCheckoutSession.Request, CheckoutSessionResource>(http, (s, op, b) => CreateCheckoutSession.Execute(s, op, provider, b),
                    c => new Reply(StatusCodes.Status201Created, c));
            })
            .Doc("createCheckoutSession",
                "A hosted checkout page for a customer: subscription (product_id), payment (amount + currency, or a one-time product_id) or setup (save a card); nothing is charged until the customer pays on the page at url", Tag)
            .Body<CreateCheckoutSession.Request>().Produces<CheckoutSessionResource>(StatusCodes.Status201Created, ApiResponses.JsonContentType).MutationErrors(404);
        v1.MapGet("/checkout_sessions/{id}", async (HttpContext http, Api api, IKassaStore store, string id) =>
            {
                // A write: a session read after its expiry expires now (and its subscription and invoice with it).
                var op = api.Operation(http);
                var result = await store.WriteAsync(s => GetCheckoutSession.Execute(s, op, id), r => r.IsOk, http.RequestAborted);
                if (result.IsOk) await ApiResponses.WriteJson(http, StatusCodes.Status200OK, result.Value);
                else await ApiResponses.WriteError(http, result.Error!);
            })
            .Doc("getCheckoutSession", "A checkout session; one past its expiry is expired by this read", Tag)
            .Produces<CheckoutSessionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(404);
        v1.MapGet("/checkout_sessions", (HttpContext http, Api api, string? customer_id, string? limit, string? starting_after) =>
                EndpointConventions.ListPage(http, api, limit, starting_after, (s, t, page) => ListCheckoutSessions.Execute(s, t, customer_id, page)))
            .Doc("listCheckoutSessions", "Checkout sessions newest first, optionally of one customer", Tag)
            .Produces<ListResource<CheckoutSessionResource>>(StatusCodes.Status200OK, ApiResponses.JsonContentType).Errors(400);
        v1.MapPost("/checkout_sessions/{id}/expire", (HttpContext http, Api api, string id) =>
                api.Mutate(http, (s, op) => ExpireCheckoutSession.Execute(s, op, id), c => new Reply(StatusCodes.Status200OK, c)))
            .Doc("expireCheckoutSession", "End an open session now: its incomplete subscription expires and its unpaid invoice is voided; complete or expired → 409", Tag)
            .Produces<CheckoutSessionResource>(StatusCodes.Status200OK, ApiResponses.JsonContentType).MutationErrors(404);

        app.MapGet("/checkout/{id}", Page)
            .Doc("getCheckoutPage", "The hosted checkout page (HTML, no script), opened through the session's url; a wrong token or unknown session is 404", Tag)
            .Produces<string>(StatusCodes.Status200OK, "text/html").Produces(StatusCodes.Status303SeeOther).Produces<string>(StatusCodes.Status404NotFound, "text/html")
            .Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/html");
        app.MapPost("/checkout/{id}/pay", Pay)
            .Doc("payCheckoutPage",
                "The page's card form (application/x-www-form-urlencoded: nonce, number, exp_month, exp_year, cvc, or use_saved_card=1): 303 to success_url or back to the page; the page again on a problem", Tag)
            .Produces(StatusCodes.Status303SeeOther).PageErrors(400, 402, 403, 404, 409);
        app.MapPost("/checkout/{id}/confirm", Confirm)
            .Doc("confirmCheckoutPage", "The page's 3-D Secure step (form: nonce, decision=confirm|cancel): 303 to success_url or back to the page", Tag)
            .Produces(StatusCodes.Status303SeeOther).PageErrors(400, 403, 404, 409);
    }

    private static RouteHandlerBuilder PageErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses) builder.Produces<string>(status, "text/html");
        return builder;
    }

    private static OperationContext PageOperation(HttpContext http, Tenant tenant, TimeProvider time, string id) =>
        new(tenant, new Actor("checkout_page", id), http.RequestId(), time.GetUtcNow());

    private static async Task Page(HttpContext http, IKassaStore store, PaymentProviders providers, TimeProvider time, string id, string? token)
    {
        if (CheckoutLinks.Verify(id, token) is not { } tenant)
        {
            await NotFound(http);
            return;
        }
        var op = PageOperation(http, tenant, time, id);
        var view = await store.WriteAsync(s => ShowCheckoutPage.Execute(s, op, id), r => r.IsOk, CancellationToken.None);
        if (!view.IsOk)
        {
            await NotFound(http);
            return;
        }
        if (view.Value.Session.Status == CheckoutRules.Open && await providers.ForAsync(tenant, CancellationToken.None) is IHostedCheckoutProvider and IPaymentProvider hosted)
        {
            // The tenant's provider hosts the card form (Stripe Checkout): the customer pays there, and its
            // completion event completes this session (CompleteProviderCheckout).
            var self = $"{http.Request.Scheme}://{http.Request.Host}{CheckoutLinks.Url(tenant, id)}";
            var opened = await OpenProviderCheckout.Execute(store, hosted, op, view.Value, self, CancellationToken.None);
            if (!opened.IsOk)
            {
                await Html(http, StatusCodes.Status503ServiceUnavailable, CheckoutPage.Message("The payment page is not available right now",
                    "The payment provider could not be reached. Nothing was charged; try again in a minute."), null);
                return;
            }
            http.Response.StatusCode = StatusCodes.Status303SeeOther;
            http.Response.Headers.Location = opened.Value;
            http.Response.Headers.CacheControl = "no-store";
            return;
        }
        await Html(http, StatusCodes.Status200OK, CheckoutPage.Render(view.Value, token!, CheckoutPage.Problems.None), view.Value.Session.SuccessUrl);
    }

    private static async Task Pay(HttpContext http, IKassaStore store, PaymentProviders providers, TimeProvider time, string id, string? token)
    {
        if (CheckoutLinks.Verify(id, token) is not { } tenant)
        {
            await NotFound(http);
            return;
        }
        if (await ReadFormAsync(http) is not { } form) return;
        var op = PageOperation(http, tenant, time, id);
        var done = await PayCheckoutSession.Execute(store, providers, op, id,
            new PayCheckoutSession.Form(form("nonce"), form("number"), form("exp_month"), form("exp_year"), form("cvc"), form("use_saved_card") == "1"),
            CancellationToken.None);
        var entered = new Dictionary<string, string> { ["exp_month"] = form("exp_month") ?? "", ["exp_year"] = form("exp_year") ?? "" };
        await AnswerAsync(http, store, op, id, token!, done, entered);
    }

    private static async Task Confirm(HttpContext http, IKassaStore store, PaymentProviders providers, TimeProvider time, string id, string? token)
    {
        if (CheckoutLinks.Verify(id, token) is not { } tenant)
        {
            await NotFound(http);
            return;
        }
        if (await ReadFormAsync(http) is not { } form) return;
        var decision = form("decision");
        if (decision is not ("confirm" or "cancel"))
        {
            await Html(http, StatusCodes.Status400BadRequest, CheckoutPage.Message("Something went wrong", "Choose Confirm payment or Cancel on the checkout page."), null);
            return;
        }
        var op = PageOperation(http, tenant, time, id);
        var done = await ConfirmCheckoutPayment.Execute(store, providers, op, id, form("nonce"), decision == "confirm", CancellationToken.None);
        await AnswerAsync(http, store, op, id, token!, done, null);
    }

    /// <summary>After a post: 303 to where the session now leads, or the page again with what went wrong.</summary>
    private static async Task AnswerAsync(HttpContext http, IKassaStore store, OperationContext op, string id, string token,
        Result<PayCheckoutSession.Done> done, IReadOnlyDictionary<string, string>? entered)
    {
        var pageUrl = CheckoutLinks.Url(op.Tenant, id);
        if (done.IsOk)
        {
            var session = done.Value.Session;
            http.Response.StatusCode = StatusCodes.Status303SeeOther;
            http.Response.Headers.Location = session.Status == CheckoutRules.Complete ? CheckoutRules.SuccessRedirect(session) ?? pageUrl : pageUrl;
            http.Response.Headers.CacheControl = "no-store";
            return;
        }
        var error = done.Error!;
        if (error.Code == ErrorCodes.ResourceMissing && error.Param == "id")
        {
            await NotFound(http);
            return;
        }
        if (error.Code == ErrorCodes.FormRejected)
        {
            await Html(http, StatusCodes.Status403Forbidden, CheckoutPage.Message("This form has expired",
                "The form was not sent from this checkout page. Open the checkout link again and retry; nothing was charged."), null);
            return;
        }
        var (status, problems) = error.Code switch
        {
            ErrorCodes.ValidationFailed or ErrorCodes.ParameterMissing => (StatusCodes.Status400BadRequest,
                new CheckoutPage.Problems(error.Details ?? [new FieldError(error.Param ?? "number", error.Message)], null)),
            ErrorCodes.CardDeclined or ErrorCodes.InsufficientFunds => (StatusCodes.Status402PaymentRequired, new CheckoutPage.Problems([], CheckoutPage.FailureMessage(error.Code))),
            ErrorCodes.InvalidState => (StatusCodes.Status409Conflict,
                new CheckoutPage.Problems([], "This payment cannot be made right now (a payment may be in progress). Reload the page in a moment.")),
            _ => (StatusCodes.Status400BadRequest, new CheckoutPage.Problems([], "This checkout cannot take a card right now.")),
        };
        var view = await store.WriteAsync(s => ShowCheckoutPage.Execute(s, op, id), r => r.IsOk, CancellationToken.None);
        if (!view.IsOk)
        {
            await NotFound(http);
            return;
        }
        await Html(http, status, CheckoutPage.Render(view.Value, token, problems, entered), view.Value.Session.SuccessUrl);
    }

    /// <summary>
    /// Reads the form of a post from the page itself, or answers the refusal and returns null: a cross-site post
    /// (the browser's <c>Sec-Fetch-Site</c>, or an <c>Origin</c> that is not this server) is 403; anything that is
    /// not a small url-encoded form is 400.
    /// </summary>
    private static async Task<Func<string, string?>?> ReadFormAsync(HttpContext http)
    {
        var site = http.Request.Headers["Sec-Fetch-Site"].ToString();
        var origin = http.Request.Headers.Origin.ToString();
        var self = $"{http.Request.Scheme}://{http.Request.Host}";
        if ((site.Length > 0 && site is not ("same-origin" or "none")) || (origin.Length > 0 && !string.Equals(origin, self, StringComparison.OrdinalIgnoreCase)))
        {
            await Html(http, StatusCodes.Status403Forbidden, CheckoutPage.Message("This form has expired",
                "The form was sent from another site. Open the checkout link again and retry; nothing was charged."), null);
            return null;
        }
        if (!http.Request.HasFormContentType || http.Request.ContentLength is not (>= 0 and <= FormBytesMax))
        {
            await Html(http, StatusCodes.Status400BadRequest, CheckoutPage.Message("Something went wrong", "The checkout form could not be read. Open the checkout link again."), null);
            return null;
        }
        try
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            return name => form.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;
        }
        catch (InvalidDataException)
        {
            await Html(http, StatusCodes.Status400BadRequest, CheckoutPage.Message("Something went wrong", "The checkout form could not be read. Open the checkout link again."), null);
            return null;
        }
    }

    private static Task NotFound(HttpContext http) =>
        Html(http, StatusCodes.Status404NotFound, CheckoutPage.Message("Checkout not found", "This checkout link is not valid. Ask the site you came from for a new one."), null);

    private static async Task Html(HttpContext http, int status, string html, string? successUrl)
    {
        var headers = http.Response.Headers;
        // Only the inline style loads; forms go to this server (and, after a redirect, to the success page's origin);
        // the token in the address must not leak through a Referer to another site, be cached by a shared cache or be framed.
        var next = successUrl is not null && Uri.TryCreate(successUrl, UriKind.Absolute, out var u) ? " " + u.GetLeftPart(UriPartial.Authority) : "";
        headers.ContentSecurityPolicy = $"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'{next}; frame-ancestors 'none'";
        // same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the page's own form
        // posts, and the origin check above could not tell them from a cross-site post. Other sites still get no Referer.
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "private, no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["X-Robots-Tag"] = "noindex";
        http.Response.StatusCode = status;
        http.Response.ContentType = HostedPageEndpoints.HtmlContentType;
        await http.Response.WriteAsync(html, CancellationToken.None);
    }
}
