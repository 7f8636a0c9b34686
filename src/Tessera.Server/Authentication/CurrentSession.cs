using Tessera.AspNetCore;
using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Server.Authentication;

/// <summary>
/// The caller's session, as the Tessera scheme found it (<see cref="SessionVerdictSource"/> keeps it with the verdict):
/// handlers of endpoints that need a session take it as a parameter, pages read it through <see cref="Web.WebSessions"/>.
/// </summary>
internal sealed class CurrentSession(SessionCheck check, string token, bool viaCookie)
{
    private Session? _session;

    /// <summary>The check that found the session holding.</summary>
    public SessionCheck Check { get; } = check;

    public CachedSession Entry => Check.Entry!;

    /// <summary>The session as a record, made once per request (the cache entry makes one on each read of its own).</summary>
    public Session Session => _session ??= Entry.Session;

    public User User => Entry.User.User;

    /// <summary>The secret the caller presented; kept only for the life of the request or event stream.</summary>
    public string Token { get; } = token;

    /// <summary>Authenticated by the browser cookie (and so subject to CSRF checks) rather than a Bearer header.</summary>
    public bool ViaCookie { get; } = viaCookie;

    /// <summary>Who the audit log names for what this caller does. Admin work from the CLI is marked as such.</summary>
    public Actor Actor => User.Role == UserRole.Admin
        ? new Actor(Entry.Device.Platform == DevicePlatform.Cli ? ActorKind.Cli : ActorKind.Admin, User.Id) { SignedInAt = Entry.CreatedAt }
        : new Actor(ActorKind.User, User.Id);

    /// <summary>The session behind the request, when the Tessera scheme found one that holds; null otherwise.</summary>
    public static CurrentSession? Of(HttpContext httpContext) => httpContext.GetTesseraVerdict()?.State as CurrentSession;

    /// <summary>Minimal APIs bind handler parameters of this type from the authentication result (the policy required one).</summary>
    public static ValueTask<CurrentSession?> BindAsync(HttpContext httpContext) => ValueTask.FromResult(Of(httpContext));
}

/// <summary>A token whose session does not hold, as the Tessera scheme found it: why (for the 401 and the pages).</summary>
internal sealed class RefusedSession(SessionCheck check, string token, bool viaCookie)
{
    public SessionCheck Check { get; } = check;

    public string Token { get; } = token;

    public bool ViaCookie { get; } = viaCookie;
}
