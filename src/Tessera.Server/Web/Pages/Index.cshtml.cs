using Microsoft.AspNetCore.Mvc;
using Tessera.Core.Accounts;

namespace Tessera.Server.Web.Pages;

/// <summary>
/// /: the console starts at "My account" (which sends a signed-out visitor to sign in); on a fresh install with no
/// administrator yet, at the first-run page.
/// </summary>
internal sealed class IndexModel(FirstAdminSetup setup) : TesseraPageModel
{
    public async Task<IActionResult> OnGetAsync() =>
        LocalRedirect(await setup.IsOpenAsync(HttpContext.RequestAborted) ? FirstAdminSetup.Path : WebSessions.HomePath);
}
