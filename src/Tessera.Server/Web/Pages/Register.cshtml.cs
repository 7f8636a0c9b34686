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

    /// <summary>
    /// The email has an account. Registration says so, as the API's 409 <c>email_taken</c> does (a contract outside checks
    /// rely on), and offers the ways in.
    /// </summary>
    public bool EmailTaken { get; private set; }

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
            var result = await accounts.LoginAsync(
                new LoginRequest(Email, Password, Device: null, HttpContext.UserAgent(), ClientIp), HttpContext.RequestAborted);
            WebSessions.SignIn(HttpContext, result);
            Notice = "Welcome to Tessera. Your account is ready and you are signed in on this device.";
            return LocalRedirect(!string.IsNullOrEmpty(ReturnUrl) && Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : WebSessions.HomePath);
        }
        catch (TesseraException refused)
        {
            Error = refused.Message;
            EmailTaken = refused.Code == ErrorCodes.EmailTaken;
            ErrorField = FieldOf(refused) ?? (EmailTaken ? "email" : null);
            Password = null;
            Response.StatusCode = Problems.StatusOf(refused.Code);
            return Page();
        }
    }

    public string? Invalid(string field) => ErrorField == field ? "true" : null;
}
