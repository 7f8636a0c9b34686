using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Core.Sessions;
using Tessera.Server.Http;

namespace Tessera.Server.Web.Pages;

/// <summary>/login: sign in with email and password; says why a session ended when a page was sent here.</summary>
internal sealed class LoginModel(SignIn signIn) : TesseraPageModel
{
    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Ended { get; set; }

    /// <summary>Why the previous session ended ("Your session was ended from another device.").</summary>
    public string? EndedMessage { get; private set; }

    /// <summary>Why this sign-in was refused, as the core words it.</summary>
    public string? Error { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var (check, token) = await WebSessions.CheckAsync(HttpContext);
        if (check.Holds)
        {
            return LocalRedirect(SafeReturnUrl());
        }

        if (token is not null)
        {
            // The cookie names a session that no longer holds: the verdict says exactly why (with a ban's end).
            if (check.Verdict.Kind != SessionVerdictKind.Unauthenticated)
            {
                EndedMessage = check.Verdict.EndedMessage;
            }

            WebSessions.ClearCookie(HttpContext);
        }

        EndedMessage ??= WebSessions.DescribeEnded(Ended);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        // Decided before the session exists: nothing after the sign-in may fail.
        var target = SafeReturnUrl();
        try
        {
            var result = await signIn.LoginAsync(
                new LoginRequest(Email, Password, Device: null, HttpContext.UserAgent(), ClientIp), HttpContext.RequestAborted);
            WebSessions.SignIn(HttpContext, result);
            return LocalRedirect(target);
        }
        catch (TesseraException refused)
        {
            Error = refused.Message;
            Password = null;
            Response.StatusCode = ErrorCatalog.StatusOf(refused.Code);
            if (refused.Details.TryGetValue("retryAfter", out var retryAfter) && retryAfter is int seconds)
            {
                Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Page();
        }
    }

    /// <summary>Only a path on this site: never an open redirect to somebody else's.</summary>
    public string SafeReturnUrl() => WebSessions.SafeReturnUrl(ReturnUrl);
}
