using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Core.Sessions;
using Tessera.Server.Http;

namespace Tessera.Server.Web.Pages;

/// <summary>
/// /reset-password?token=…: the page the reset message links to. Sets the new password as <c>POST /v1/auth/password/reset</c>
/// does (the same rule, the same refusals), which ends every session of the account, then goes to the sign-in page.
/// </summary>
internal sealed class ResetPasswordModel(PasswordReset passwordReset) : TesseraPageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Token { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    [BindProperty]
    public string? ConfirmPassword { get; set; }

    public string? Error { get; private set; }

    /// <summary>The link itself was refused (used, expired, unknown): only a new one helps.</summary>
    public bool TokenRefused { get; private set; }

    public async Task<IActionResult> OnPostAsync()
    {
        try
        {
            if (!string.IsNullOrEmpty(NewPassword) && NewPassword != ConfirmPassword)
            {
                throw TesseraException.Validation("confirmPassword", "The new password and its confirmation do not match.");
            }

            await passwordReset.ResetPasswordAsync(Token, NewPassword, ClientIp, HttpContext.RequestAborted);
        }
        catch (TesseraException refused)
        {
            Error = refused.Message;
            TokenRefused = refused.Code == ErrorCodes.InvalidResetToken;
            NewPassword = ConfirmPassword = null;
            Response.StatusCode = ErrorCatalog.StatusOf(refused.Code);
            return Page();
        }

        WebSessions.ClearCookie(HttpContext);
        Notice = "Your password was changed and every device was signed out. Sign in with the new password.";
        return LocalRedirect(WebSessions.LoginPath);
    }
}
