namespace Tessera.Client;

/// <summary>A Tessera account as the API shows it to its owner.</summary>
public sealed record UserInfo(
    string Id,
    string Email,
    string DisplayName,
    string Role,
    string Status,
    DateTimeOffset? BannedUntil,
    bool Banned,
    DateTimeOffset CreatedAt);

/// <summary>One live session of the person, as their "Active sessions" list shows it.</summary>
/// <param name="Id">The session's id, for <see cref="TesseraClient.EndSessionAsync"/>.</param>
/// <param name="DeviceName">The device's name as given at sign-in, or read from the browser's User-Agent.</param>
/// <param name="Platform"><c>web</c>, <c>desktop</c>, <c>mobile</c>, <c>cli</c> or <c>api</c>.</param>
/// <param name="Os">The operating system, where known.</param>
/// <param name="Browser">The browser family and major version, for a web session.</param>
/// <param name="IpAddress">The address it signed in from.</param>
/// <param name="CreatedAt">When it signed in.</param>
/// <param name="LastActiveAt">Its last use, in steps of up to a minute.</param>
/// <param name="ExpiresAt">When it ends if unused from now.</param>
/// <param name="IsCurrent">True for the session this client is signed in with ("This device").</param>
/// <param name="ClientName">The service client the session was signed in through, or null.</param>
public sealed record SessionInfo(
    string Id,
    string? DeviceName,
    string Platform,
    string? Os,
    string? Browser,
    string? IpAddress,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActiveAt,
    DateTimeOffset ExpiresAt,
    bool IsCurrent,
    string? ClientName);

/// <summary>A successful sign-in: the new session (its token is in the token store) and the account.</summary>
public sealed record SignInResult(UserInfo User, SessionInfo Session);

/// <summary>Who is signed in (whoami): the account and this client's session.</summary>
public sealed record CurrentSession(UserInfo User, SessionInfo Session);

/// <summary>A sign-in provider the server offers: <see cref="Name"/> for <see cref="TesseraClient.SignInWithBrowserAsync"/>, <see cref="DisplayName"/> for the button ("Continue with Google").</summary>
public sealed record ExternalProvider(string Name, string DisplayName);
