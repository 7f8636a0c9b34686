using Microsoft.AspNetCore.Mvc;

namespace Tessera.Server.Web.Pages;

/// <summary>/: the console starts at "My account" (which sends a signed-out visitor to sign in).</summary>
internal sealed class IndexModel : TesseraPageModel
{
    public IActionResult OnGet() => LocalRedirect(WebSessions.HomePath);
}
