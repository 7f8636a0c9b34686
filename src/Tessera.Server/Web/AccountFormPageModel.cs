using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Server.Http;

namespace Tessera.Server.Web;

/// <summary>
/// A page that creates an account (/register, /setup): its fields, the core's refusal shown on the field it is about,
/// and signing the new account in on this device at once.
/// </summary>
internal abstract class AccountFormPageModel : TesseraPageModel
{
    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public string? Error { get; protected set; }

    /// <summary>The field the core's refusal is about (email, password, displayName), for aria-invalid.</summary>
    public string? ErrorField { get; private set; }

    public string? Invalid(string field) => ErrorField == field ? "true" : null;

    /// <summary>
    /// The email has an account. Registration says so, as the API's 409 <c>email_taken</c> does (a contract outside checks
    /// rely on), and offers the ways in.
    /// </summary>
    public bool EmailTaken { get; private set; }

    /// <summary>Signs the new account in on this device, with the same cookie as <c>POST /v1/auth/login</c>.</summary>
    protected async Task SignInAsync(SignIn signIn)
    {
        ArgumentNullException.ThrowIfNull(signIn);
        var result = await signIn.LoginAsync(
            new LoginRequest(Email, Password, Device: null, HttpContext.UserAgent(), ClientIp), HttpContext.RequestAborted);
        WebSessions.SignIn(HttpContext, result);
    }

    /// <summary>The form again, with the core's sentence, what was typed (but the password) and the problem's status.</summary>
    protected PageResult Refused(TesseraException refused)
    {
        ArgumentNullException.ThrowIfNull(refused);
        Error = refused.Message;
        EmailTaken = refused.Code == ErrorCodes.EmailTaken;
        ErrorField = FieldOf(refused) ?? (EmailTaken ? "email" : null);
        Password = null;
        Response.StatusCode = ErrorCatalog.StatusOf(refused.Code);
        return Page();
    }
}
