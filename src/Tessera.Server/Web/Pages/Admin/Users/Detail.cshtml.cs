using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Tessera.Core.ExternalLogin;
using Tessera.Core;
using Tessera.Core.Administration;
using Tessera.Core.Clients;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;

namespace Tessera.Server.Web.Pages.Admin.Users;

/// <summary>
/// /admin/users/{id}: one user's state, live sessions and recent audit events, and the decisions about them. Each
/// decision is the same <see cref="UserAdministration"/> call as the admin API, refusals included (an admin's own account).
/// </summary>
internal sealed class DetailModel(UserAdministration admin, ServiceClients clients, ExternalIdentities externalIdentities, TimeProvider clock) : AdminPageModel
{
    public const int RecentEventCount = 20;

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = string.Empty;

    public User? Target { get; private set; }

    public IReadOnlyList<ActiveSession> Sessions { get; private set; } = [];

    /// <summary>The names of the service clients the sessions were signed in through, by id.</summary>
    public IReadOnlyDictionary<string, string> ClientNames { get; private set; } = new Dictionary<string, string>();

    /// <summary>"through Portal" for a session signed in through a client (its id when the name cannot be found), else null.</summary>
    public string? Through(Session session) =>
        session.ClientId is { } clientId ? "through " + ClientNames.GetValueOrDefault(clientId, clientId) : null;

    public AuditTable RecentEvents { get; private set; } = AuditTable.Empty;

    public DateTimeOffset Now { get; private set; }

    /// <summary>The user's sign-in methods at OpenID Connect providers.</summary>
    public IReadOnlyList<ExternalIdentity> LinkedMethods { get; private set; } = [];

    public bool IsSelf => Id == CurrentUser.Id;

    public bool IsBanned => Target?.IsBannedAt(Now) == true;

    /// <summary>Why the ban in the dialog was refused; the dialog opens again with what was typed.</summary>
    public string? BanError { get; private set; }

    public string? BanReasonInput { get; private set; }

    public string? BanUntilInput { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Now = clock.GetUtcNow();
        try
        {
            (Target, _) = await admin.GetAsync(Id, HttpContext.RequestAborted);
            Sessions = await admin.ListSessionsAsync(Id, HttpContext.RequestAborted);
            LinkedMethods = await externalIdentities.ListAsync(Id, HttpContext.RequestAborted);
            ClientNames = await clients.NamesAsync(Sessions.Select(s => s.Session.ClientId), HttpContext.RequestAborted);
            var events = await admin.QueryAuditAsync(new AuditQuery(Id, null, null, null, RecentEventCount), HttpContext.RequestAborted);
            RecentEvents = await AuditTable.CreateAsync(events, admin, HttpContext.RequestAborted);
        }
        catch (TesseraException refused) when (refused.Code == ErrorCodes.NotFound)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }

    public Task<IActionResult> OnPostDeactivateAsync(string? reason) => DecideAsync(async () =>
    {
        var result = await admin.DeactivateAsync(Current.Actor, Id, reason, ClientIp, HttpContext.RequestAborted);
        return $"{NameDisplay.InText(result.User)} was deactivated and signed out of {AdminDisplay.Plural(result.RevokedSessions, "session", "sessions")}.";
    });

    public Task<IActionResult> OnPostReactivateAsync() => DecideAsync(async () =>
    {
        var result = await admin.ReactivateAsync(Current.Actor, Id, ClientIp, HttpContext.RequestAborted);
        return $"{NameDisplay.InText(result.User)} was reactivated and can sign in again.";
    });

    /// <summary>
    /// <paramref name="untilUtc"/> comes from tessera.js (the local time converted), and <paramref name="tz"/> names the
    /// admin's time zone for the notice; without script the time is read as UTC, as the field's label then says.
    /// A refusal about the fields keeps the dialog open with what was typed.
    /// </summary>
    public async Task<IActionResult> OnPostBanAsync(string? reason, string? until, string? untilUtc, string? tz)
    {
        string notice;
        try
        {
            var end = ParseTime(untilUtc, until);
            if (end is null && !string.IsNullOrEmpty(until))
            {
                throw TesseraException.Validation("until", "The end of the ban is not a date and time.");
            }

            var result = await admin.BanAsync(Current.Actor, Id, reason, end, ClientIp, HttpContext.RequestAborted);
            var span = end is { } e ? $"until {TimeDisplay.InZone(e, tz)}" : "until unbanned";
            notice = $"{NameDisplay.InText(result.User)} was banned {span} and signed out of {AdminDisplay.Plural(result.RevokedSessions, "session", "sessions")}.";
        }
        catch (TesseraException refused) when (FieldOf(refused) is "until" or "reason")
        {
            BanError = FieldOf(refused) == "until" && !string.IsNullOrEmpty(until)
                ? "“Ban ends” must be a time in the future. Choose a later time, or leave it empty for a ban until an admin unbans the account."
                : Describe(refused);
            BanReasonInput = reason;
            BanUntilInput = until;
            await LoadAsync();
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        catch (TesseraException refused)
        {
            return Back(error: Describe(refused));
        }

        return Back(notice);
    }

    public Task<IActionResult> OnPostUnbanAsync() => DecideAsync(async () =>
    {
        var result = await admin.UnbanAsync(Current.Actor, Id, ClientIp, HttpContext.RequestAborted);
        return $"{NameDisplay.InText(result.User)} was unbanned and can sign in again.";
    });

    public Task<IActionResult> OnPostDeleteAsync() => DecideAsync(async () =>
    {
        var result = await admin.DeleteAsync(Current.Actor, Id, ClientIp, HttpContext.RequestAborted);
        return $"The account was deleted and {AdminDisplay.Plural(result.RevokedSessions, "session was", "sessions were")} ended.";
    });

    public Task<IActionResult> OnPostRevokeSessionsAsync() => DecideAsync(async () =>
    {
        var revoked = await admin.RevokeSessionsAsync(Current.Actor, Id, ClientIp, HttpContext.RequestAborted);
        return revoked == 0 ? "There were no sessions to end." : $"Ended {AdminDisplay.Plural(revoked, "session", "sessions")}.";
    });

    public Task<IActionResult> OnPostRevokeSessionAsync(string? sessionId) => DecideAsync(async () =>
    {
        await admin.RevokeSessionAsync(Current.Actor, Id, sessionId ?? string.Empty, ClientIp, HttpContext.RequestAborted);
        return "The session was ended.";
    });

    /// <summary>The state of a ban, in words, and the time they lead up to (shown as a time element, in the viewer's zone).</summary>
    public (string Text, DateTimeOffset? At) BanState() => Target switch
    {
        null => (string.Empty, null),
        { Banned: false } => ("Not banned", null),
        { BannedUntil: { } until } when until <= Now => ("Ban ended", until),
        { BannedUntil: { } until } => ("Banned until", until),
        _ => ("Banned until unbanned", null),
    };

    private async Task<IActionResult> DecideAsync(Func<Task<string>> decision)
    {
        try
        {
            return Back(await decision());
        }
        catch (TesseraException refused)
        {
            // The core's own sentence: "Admins cannot do this to their own account.", "This user has been deleted.", …
            return Back(error: Describe(refused));
        }
    }

    private static DateTimeOffset? ParseTime(string? utc, string? local)
    {
        if (!string.IsNullOrEmpty(utc)
            && DateTimeOffset.TryParse(utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsedUtc))
        {
            return parsedUtc;
        }

        return !string.IsNullOrEmpty(local)
            && DateTimeOffset.TryParse(local, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : null;
    }
}
