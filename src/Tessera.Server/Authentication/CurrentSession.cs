using Tessera.Core.Audit;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Server.Authentication;

/// <summary>The caller's session, checked by <see cref="SessionAuthenticationMiddleware"/> before the handler runs.</summary>
internal sealed class CurrentSession(CachedSession entry, string token, bool viaCookie)
{
    public CachedSession Entry { get; } = entry;

    public Session Session => Entry.Session;

    public User User => Entry.User.User;

    /// <summary>The secret the caller presented; kept only for the life of the request or event stream.</summary>
    public string Token { get; } = token;

    /// <summary>Authenticated by the browser cookie (and so subject to CSRF checks) rather than a Bearer header.</summary>
    public bool ViaCookie { get; } = viaCookie;

    /// <summary>Who the audit log names for what this caller does. Admin work from the CLI is marked as such.</summary>
    public Actor Actor => User.Role == UserRole.Admin
        ? new Actor(Session.Device.Platform == DevicePlatform.Cli ? ActorKind.Cli : ActorKind.Admin, User.Id) { SignedInAt = Session.CreatedAt }
        : new Actor(ActorKind.User, User.Id);

    /// <summary>Minimal APIs bind handler parameters of this type from the filter's result.</summary>
    public static ValueTask<CurrentSession?> BindAsync(HttpContext httpContext) =>
        ValueTask.FromResult(httpContext.Features.Get<CurrentSession>());
}
