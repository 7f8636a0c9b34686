using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;

namespace Tessera.Server.Web.Pages;

/// <summary>/register: create an account, then sign in on this device at once.</summary>
internal sealed class RegisterModel(AccountService accounts) : AccountFormPageModel
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
        try
        {
            await accounts.RegisterAsync(Email, Password, DisplayName, ClientIp, HttpContext.RequestAborted);
            await SignInAsync(accounts);
            Notice = "Welcome to Tessera. Your account is ready and you are signed in on this device.";
            return LocalRedirect(!string.IsNullOrEmpty(ReturnUrl) && Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : WebSessions.HomePath);
        }
        catch (TesseraException refused)
        {
            return Refused(refused);
        }
    }
}
