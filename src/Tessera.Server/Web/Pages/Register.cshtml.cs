using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;

namespace Tessera.Server.Web.Pages;

/// <summary>/register: create an account, then sign in on this device at once.</summary>
internal sealed class RegisterModel(Registration registration, SignIn signIn) : AccountFormPageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var (check, _) = await WebSessions.CheckAsync(HttpContext);
        return check.Holds ? LocalRedirect(WebSessions.HomePath) : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        // Decided before the account exists: nothing after the sign-in may fail.
        var target = WebSessions.SafeReturnUrl(ReturnUrl);
        try
        {
            await registration.RegisterAsync(Email, Password, DisplayName, ClientIp, HttpContext.RequestAborted);
            await SignInAsync(signIn);
            Notice = "Welcome to Tessera. Your account is ready and you are signed in on this device.";
            return LocalRedirect(target);
        }
        catch (TesseraException refused)
        {
            return Refused(refused);
        }
    }
}
