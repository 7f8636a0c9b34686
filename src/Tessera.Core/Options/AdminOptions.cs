namespace Tessera.Core.Options;

/// <summary>What an admin needs to act on other admins (<c>Tessera:Admin</c>).</summary>
public sealed class AdminOptions
{
    /// <summary>
    /// Deactivating, banning or deleting another admin needs a session signed in (with the password) at most this long
    /// ago, so that a stolen or forgotten admin session cannot lock the other admins out.
    /// </summary>
    public TimeSpan RecentSignIn { get; set; } = TimeSpan.FromMinutes(15);
}
