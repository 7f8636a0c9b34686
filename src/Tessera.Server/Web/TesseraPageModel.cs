using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Tessera.Core;
using Tessera.Core.Users;
using Tessera.Server.Authentication;
using Tessera.Server.Http;

namespace Tessera.Server.Web;

/// <summary>Every page: security headers, no caching of personal pages, and the one-shot notices.</summary>
internal abstract class TesseraPageModel : PageModel
{
    /// <summary>A sentence confirming what the last action did, shown once after its redirect.</summary>
    [TempData]
    public string? Notice { get; set; }

    /// <summary>A sentence saying why the last action was refused, shown once after its redirect.</summary>
    [TempData]
    public string? ErrorNotice { get; set; }

    public override Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        ApplyHeaders(context.HttpContext.Response);
        return next();
    }

    protected static void ApplyHeaders(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var headers = response.Headers;
        // A page must never come back from a cache (or the back button) after the session behind it has ended.
        // (Worded as antiforgery words it, which would otherwise overwrite it with a warning.)
        headers.CacheControl = "no-cache, no-store";
        headers.Pragma = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers.ContentSecurityPolicy =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    }

    /// <summary>Redirects to the same page (without the handler), so that a reload does not repeat the action.</summary>
    protected RedirectResult Back(string? notice = null, string? error = null)
    {
        Notice = notice;
        ErrorNotice = error;
        return Redirect(Request.Path + QueryStringWithoutHandler());
    }

    /// <summary>The field a refusal from the core is about (<c>email</c>, <c>until</c>…), from its <c>errors</c>; null when none.</summary>
    protected static string? FieldOf(TesseraException refused) =>
        refused.Details.TryGetValue("errors", out var errors) && errors is Dictionary<string, string[]> byField ? byField.Keys.FirstOrDefault() : null;

    /// <summary>The client's IP as the API records it (the same helper, so audit rows agree whichever way the change came).</summary>
    protected string? ClientIp => HttpContext.ClientIp();

    private string QueryStringWithoutHandler()
    {
        var kept = Request.Query.Where(pair => !string.Equals(pair.Key, "handler", StringComparison.OrdinalIgnoreCase)).ToList();
        return kept.Count == 0 ? string.Empty : QueryString.Create(kept).ToString();
    }
}

/// <summary>
/// A page that needs a session that holds. The cookie is read by the Tessera scheme (as the API's endpoints are) before
/// every handler; a visitor without one goes to <c>/login</c> (and comes back after signing in), and one whose session
/// has ended goes there with the reason.
/// </summary>
internal abstract class SignedInPageModel : TesseraPageModel
{
    private CurrentSession? _current;

    /// <summary>The caller's session, as the API's handlers see it (the same actor in the audit log).</summary>
    public CurrentSession Current => _current ?? throw new InvalidOperationException("The session is checked before the handler runs.");

    public User CurrentUser => Current.User;

    public bool IsAdmin => CurrentUser.Role == UserRole.Admin;

    /// <summary>Pages of the admin console set this; everybody else gets the 403 page.</summary>
    protected virtual bool RequiresAdmin => false;

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var httpContext = context.HttpContext;
        ApplyHeaders(httpContext.Response);
        var (check, token) = await WebSessions.CheckAsync(httpContext);
        if (!check.Holds || CurrentSession.Of(httpContext) is not { } current || token is null)
        {
            // The sign-in page reads the cookie again to tell the person exactly why (a ban's end date, say) and clears it.
            var returnUrl = HttpMethods.IsGet(httpContext.Request.Method)
                ? httpContext.Request.Path + httpContext.Request.QueryString
                : httpContext.Request.Path.ToString();
            var ended = check.Verdict.Kind == Core.Sessions.SessionVerdictKind.Unauthenticated ? null : check.Verdict.EndedReasonName;
            context.Result = Redirect(WebSessions.LoginUrl(returnUrl, ended));
            return;
        }

        if (!CrossSiteRequests.IsSafe(httpContext.Request))
        {
            // Antiforgery tokens already stop this; the API's own fetch-metadata check is a second lock on the door.
            context.Result = new StatusCodeResult(StatusCodes.Status403Forbidden);
            return;
        }

        _current = current;
        if (RequiresAdmin && !IsAdmin)
        {
            context.Result = new ViewResult
            {
                ViewName = "/Web/Pages/Shared/_Forbidden.cshtml",
                StatusCode = StatusCodes.Status403Forbidden,
                ViewData = new ViewDataDictionary<SignedInPageModel>(MetadataProvider, ModelState) { Model = this },
            };
            return;
        }

        await next();
    }

    /// <summary>The core's refusal in words for the person (the same message the API puts in its problem).</summary>
    protected static string Describe(TesseraException refused) => refused.Message;
}

/// <summary>A page of the admin console: an admin's session only, checked on the server on every request.</summary>
internal abstract class AdminPageModel : SignedInPageModel
{
    protected override bool RequiresAdmin => true;
}
