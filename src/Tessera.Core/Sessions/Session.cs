namespace Tessera.Core.Sessions;

/// <summary>Where a session's client runs. Serialised in lower case (web, desktop, mobile, cli, api).</summary>
public enum DevicePlatform
{
    Web,
    Desktop,
    Mobile,
    Cli,
    Api,
}

/// <summary>The device a session was created from, as the client described it or the User-Agent told.</summary>
public sealed record DeviceInfo(string? Name, DevicePlatform Platform, string? Os, string? Browser, string? UserAgent);

/// <summary>A signed-in session. The secret token itself is never kept: only its hash.</summary>
public sealed record Session
{
    public required string Id { get; init; }

    public required TokenHash TokenHash { get; init; }

    public required string UserId { get; init; }

    public required DeviceInfo Device { get; init; }

    public string? IpAddress { get; init; }

    /// <summary>
    /// The service client the session was created through (a relying app's own sign-in form, <c>cli_…</c>), or null for a
    /// session made directly. Other clients learn only whether it holds, and cannot end it.
    /// </summary>
    public string? ClientId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>As last written to the store; the node's in-memory value may be newer.</summary>
    public required DateTimeOffset LastActiveAt { get; init; }

    /// <summary>The absolute end of the session, whatever its activity.</summary>
    public required DateTimeOffset AbsoluteExpiresAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Who ended it: a user or admin id, or "system".</summary>
    public string? RevokedBy { get; init; }

    public RevocationReason? RevokeReason { get; init; }

    public bool IsRevoked => RevokedAt is not null;

    /// <summary>
    /// A new session for <paramref name="userId"/> from <paramref name="now"/>, and its secret token (the session keeps
    /// only the hash): what every way of signing in creates once the account may sign in.
    /// </summary>
    public static (Session Session, string Token) Begin(
        string userId, DeviceInfo device, string? ipAddress, string? clientId, DateTimeOffset now, TimeSpan absoluteLifetime, TimeProvider clock)
    {
        var token = SecretTokens.Create(out var tokenHash);
        var session = new Session
        {
            Id = Ids.NewSessionId(clock),
            TokenHash = tokenHash,
            UserId = userId,
            Device = device,
            IpAddress = ipAddress,
            ClientId = clientId,
            CreatedAt = now,
            LastActiveAt = now,
            AbsoluteExpiresAt = now + absoluteLifetime,
        };
        return (session, token);
    }

    /// <summary>When the session ends if it stays unused from <paramref name="lastActiveAt"/>.</summary>
    public DateTimeOffset ExpiresAt(DateTimeOffset lastActiveAt, TimeSpan idleTimeout) => EndOf(lastActiveAt, idleTimeout, AbsoluteExpiresAt);

    /// <summary>The earlier of the idle end (<paramref name="lastActiveAt"/> plus <paramref name="idleTimeout"/>) and the absolute end.</summary>
    public static DateTimeOffset EndOf(DateTimeOffset lastActiveAt, TimeSpan idleTimeout, DateTimeOffset absoluteExpiresAt)
    {
        var idleEnd = lastActiveAt + idleTimeout;
        return idleEnd < absoluteExpiresAt ? idleEnd : absoluteExpiresAt;
    }
}
