using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Server.Http;

namespace Tessera.Server.Web.Pages;

/// <summary>/register: create an account, then sign in on this device at once.</summary>
internal sealed class RegisterModel(AccountService accounts) : TesseraPageModel
{
    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; private set; }

    /// <summary>The field the core's refusal is about (email, password, displayName), for aria-invalid.</summary>
    public string? ErrorField { get; private set; }

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
            await accounts.RegisterAsync(Email, Password, DisplayName, ClientIp, HttpContext.RequestAborted);
            var result = await accounts.LoginAsync(
                new LoginRequest(Email, Password, Device: null, HttpContext.UserAgent(), ClientIp), HttpContext.RequestAborted);
            WebSessions.SignIn(HttpContext, result);
            Notice = "Welcome to Tessera. Your account is ready and you are signed in on this device.";
            return LocalRedirect(target);
        }
        catch (TesseraException refused)
        {
            Error = refused.Message;
            ErrorField = refused.Details.TryGetValue("errors", out var errors) && errors is Dictionary<string, string[]> byField
                ? byField.Keys.FirstOrDefault()
                : refused.Code == ErrorCodes.EmailTaken ? "email" : null;
            Password = null;
            Response.StatusCode = Problems.StatusOf(refused.Code);
            return Page();
        }
    }

    public string? Invalid(string field) => ErrorField == field ? "true" : null;
}
