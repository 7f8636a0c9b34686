using System.Net;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tessera.Core;
using Tessera.Core.Accounts;

namespace Tessera.Server.Web.Pages;

/// <summary>
/// /setup: creates the first administrator of a fresh install (see <see cref="FirstAdminSetup"/>). Open from this machine
/// as it is, from elsewhere with the one-time code from the log; a page that does not exist once any admin does.
/// </summary>
internal sealed class SetupModel(FirstAdminSetup setup, SignIn signIn) : AccountFormPageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Code { get; set; }

    /// <summary>False while this client has not shown it may use the page (the code prompt shows instead of the form).</summary>
    public bool Admitted { get; private set; }

    public bool Gone { get; private set; }

    public Task<IActionResult> OnGetAsync() => WithAccessAsync(() => Task.FromResult<IActionResult>(Page()));

    public Task<IActionResult> OnPostAsync() => WithAccessAsync(async () =>
    {
        try
        {
            await setup.CreateAdminAsync(Email, Password, DisplayName, ClientIp, HttpContext.RequestAborted);
            await SignInAsync(signIn);
            Notice = "You are Tessera's first administrator, and signed in on this device. The first-run page is gone for good.";
            return LocalRedirect("/admin/users");
        }
        catch (TesseraException refused) when (refused.Code == ErrorCodes.NotFound)
        {
            return GonePage();
        }
        catch (TesseraException refused)
        {
            return Refused(refused);
        }
    });

    private async Task<IActionResult> WithAccessAsync(Func<Task<IActionResult>> handler)
    {
        if (!await setup.IsOpenAsync(HttpContext.RequestAborted))
        {
            return GonePage();
        }

        if (IsFromThisMachine())
        {
            Admitted = true;
            return await handler();
        }

        if (string.IsNullOrWhiteSpace(Code))
        {
            // From elsewhere: only the prompt for the code, and nothing can be posted without it.
            Response.StatusCode = HttpMethods.IsGet(Request.Method) ? StatusCodes.Status200OK : StatusCodes.Status403Forbidden;
            return Page();
        }

        try
        {
            Admitted = await setup.AdmitsAsync(fromLoopback: false, Code, ClientIp ?? "unknown", HttpContext.RequestAborted);
        }
        catch (TesseraException refused) when (refused.Code == ErrorCodes.RateLimited)
        {
            Error = refused.Message;
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = refused.Details["retryAfter"]?.ToString();
            Code = null;
            return Page();
        }

        if (!Admitted)
        {
            Error = "That is not the code from the server's log. It was written there when the server started.";
            Response.StatusCode = StatusCodes.Status403Forbidden;
            Code = null;
            return Page();
        }

        return await handler();
    }

    private PageResult GonePage()
    {
        Gone = true;
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }

    /// <summary>
    /// A loopback peer, and no sign of a proxy in between: behind a reverse proxy on the same machine every client would
    /// otherwise look local. (Trusted proxies' headers have been consumed by then, and the peer is the real client.)
    /// </summary>
    private bool IsFromThisMachine()
    {
        var peer = HttpContext.Connection.RemoteIpAddress;
        if (peer is null)
        {
            return false;
        }

        var headers = Request.Headers;
        return IPAddress.IsLoopback(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer)
            && !headers.ContainsKey("X-Forwarded-For") && !headers.ContainsKey("Forwarded") && !headers.ContainsKey("X-Real-IP");
    }
}
