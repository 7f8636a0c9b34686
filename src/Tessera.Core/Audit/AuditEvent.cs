namespace Tessera.Core.Audit;

public enum ActorKind
{
    User,
    Admin,
    System,
    Cli,

    /// <summary>A service client (a relying app) acting with its secret: its id is the client's.</summary>
    Client,
}

/// <summary>Who did something: a user acting on their own account, an admin (from the API or the CLI), a service client, or Tessera itself.</summary>
public sealed record Actor(ActorKind Kind, string? Id)
{
    public static readonly Actor System = new(ActorKind.System, null);

    /// <summary>The value stored in a session's revoked-by column.</summary>
    public string RevokedBy => Id ?? "system";

    /// <summary>
    /// When the session this actor acts through was signed in; not stored in the audit log. Decisions against another
    /// admin need a recent sign-in (<see cref="Options.AdminOptions.RecentSignIn"/>).
    /// </summary>
    public DateTimeOffset? SignedInAt { get; init; }
}

/// <summary>The audit actions; the strings are part of the HTTP contract.</summary>
public static class AuditActions
{
    public const string SessionCreated = "session.created";
    public const string SessionRevoked = "session.revoked";
    public const string UserRegistered = "user.registered";
    public const string UserDeactivated = "user.deactivated";
    public const string UserReactivated = "user.reactivated";
    public const string UserBanned = "user.banned";
    public const string UserUnbanned = "user.unbanned";
    public const string UserDeleted = "user.deleted";
    public const string PasswordChanged = "password.changed";
    public const string PasswordReset = "password.reset";
    public const string LoginFailed = "login.failed";
    public const string ClientCreated = "client.created";
    public const string ClientRotated = "client.rotated";
    public const string ClientDisabled = "client.disabled";

    /// <summary>A sign-in method at an OpenID Connect provider was linked to the user (reason: the provider's name).</summary>
    public const string ExternalLinked = "external.linked";

    /// <summary>The user unlinked a provider (reason: the provider's name).</summary>
    public const string ExternalUnlinked = "external.unlinked";

    /// <summary>A provider's refresh token was sent to its revocation endpoint (reason: provider, why, and the outcome).</summary>
    public const string ExternalTokenRevoked = "external.token_revoked";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        SessionCreated, SessionRevoked, UserRegistered, UserDeactivated, UserReactivated, UserBanned,
        UserUnbanned, UserDeleted, PasswordChanged, PasswordReset, LoginFailed, ClientCreated, ClientRotated, ClientDisabled,
        ExternalLinked, ExternalUnlinked, ExternalTokenRevoked,
    };
}

/// <summary>An append-only record of something that happened, written in the same transaction as the change.</summary>
public sealed record AuditEvent
{
    public required string Id { get; init; }

    public required DateTimeOffset At { get; init; }

    public required string Action { get; init; }

    public required Actor Actor { get; init; }

    public string? TargetUserId { get; init; }

    public IReadOnlyList<string> SessionIds { get; init; } = [];

    public string? Reason { get; init; }

    public string? IpAddress { get; init; }
}
