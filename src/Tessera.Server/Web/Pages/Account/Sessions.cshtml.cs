using Microsoft.AspNetCore.Mvc;
using Tessera.Core.Clients;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;

namespace Tessera.Server.Web.Pages.Account;

/// <summary>
/// /account/sessions: every session that holds, this device marked; sign out one other device, every other device,
/// or all of them. The same <see cref="SessionService"/> calls and reasons as <c>/v1/sessions</c>.
/// </summary>
internal sealed class SessionsModel(SessionService sessions, ServiceClients clients, TimeProvider clock) : SignedInPageModel
{
    public IReadOnlyList<ActiveSession> Sessions { get; private set; } = [];

    /// <summary>The names of the apps (service clients) sessions were signed in through, by id.</summary>
    public IReadOnlyDictionary<string, string> ClientNames { get; private set; } = new Dictionary<string, string>();

    public bool IsThisDevice(ActiveSession session) => session.Session.Id == Current.Session.Id;

    public string Ago(DateTimeOffset at) => TimeDisplay.Relative(at, clock.GetUtcNow());

    public async Task<IActionResult> OnGetAsync()
    {
        // This device first, then the others as the service orders them (most recently active first).
        var active = await sessions.ListActiveAsync(CurrentUser.Id, HttpContext.RequestAborted);
        Sessions = [.. active.Where(IsThisDevice), .. active.Where(s => !IsThisDevice(s))];
        ClientNames = await clients.NamesAsync(active.Select(s => s.Session.ClientId), HttpContext.RequestAborted);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string? sessionId)
    {
        if (string.IsNullOrEmpty(sessionId))
        {
            return Back(error: "Choose a session to sign out.");
        }

        if (sessionId == Current.Session.Id)
        {
            return Back(error: "This is the device you are using: use “Sign out” at the top of the page instead.");
        }

        var revoked = await sessions.RevokeAsync(CurrentUser.Id, sessionId, RevocationReason.RevokedByUser, Current.Actor, ClientIp, HttpContext.RequestAborted);
        return revoked
            ? Back("That device was signed out.")
            : Back(error: "That session had already ended.");
    }

    public async Task<IActionResult> OnPostRevokeOthersAsync()
    {
        var revoked = await sessions.RevokeAsync(CurrentUser.Id, RevocationScope.AllExcept(Current.Session.Id), RevocationReason.SignedOutOtherDevices,
            Current.Actor, ClientIp, HttpContext.RequestAborted);
        return Back(revoked switch
        {
            0 => "No other device was signed in.",
            1 => "Signed out of 1 other device. This device stays signed in.",
            _ => $"Signed out of {revoked} other devices. This device stays signed in.",
        });
    }

    public async Task<IActionResult> OnPostRevokeAllAsync()
    {
        await sessions.RevokeAsync(CurrentUser.Id, RevocationScope.All, RevocationReason.SignedOutAllDevices, Current.Actor, ClientIp, HttpContext.RequestAborted);
        WebSessions.ClearCookie(HttpContext);
        return LocalRedirect(WebSessions.LoginUrl(ended: RevocationReason.SignedOutAllDevices.ToWireName()));
    }
}
