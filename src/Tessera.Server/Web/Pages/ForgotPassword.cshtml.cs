using Microsoft.AspNetCore.Mvc;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Server.Http;

namespace Tessera.Server.Web.Pages;

/// <summary>/forgot-password: asks for a reset link, as <c>POST /v1/auth/password/reset-request</c> does, with the same answer either way.</summary>
internal sealed class ForgotPasswordModel(PasswordReset passwordReset) : TesseraPageModel
{
    [BindProperty]
    public string? Email { get; set; }

    public bool Sent { get; private set; }

    public string? Error { get; private set; }

    public async Task<IActionResult> OnPostAsync()
    {
        try
        {
            // Says the same whether or not the email has an account: this page is no way to find out who has one.
            await passwordReset.RequestPasswordResetAsync(Email, ClientIp, HttpContext.RequestAborted);
            Sent = true;
        }
        catch (TesseraException refused)
        {
            Error = refused.Message;
            Response.StatusCode = ErrorCatalog.StatusOf(refused.Code);
        }

        return Page();
    }
}
