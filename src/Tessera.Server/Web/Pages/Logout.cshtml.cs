using Microsoft.AspNetCore.Mvc;
using Tessera.Core.Accounts;
using Tessera.Core.Sessions;

namespace Tessera.Server.Web.Pages;

/// <summary>/logout (POST): ends this device's session (<c>signed_out</c>), as <c>POST /v1/auth/logout</c> does.</summary>
internal sealed class LogoutModel(SignOut signOut) : TesseraPageModel
{
    public IActionResult OnGet() => LocalRedirect(WebSessions.HomePath);

    public async Task<IActionResult> OnPostAsync()
    {
        var (check, _) = await WebSessions.CheckAsync(HttpContext);
        if (check is { Holds: true, Entry: { } entry })
        {
            await signOut.LogoutAsync(entry, ClientIp, HttpContext.RequestAborted);
        }

        WebSessions.ClearCookie(HttpContext);
        return LocalRedirect(WebSessions.LoginUrl(ended: RevocationReason.SignedOut.ToWireName()));
    }
}
