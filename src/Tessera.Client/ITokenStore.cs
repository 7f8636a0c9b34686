namespace Tessera.Client;

/// <summary>
/// Where a client keeps its session token between runs. Small on purpose, so that an OS keychain (macOS Keychain,
/// libsecret, Android Keystore) plugs in behind it. Calls are synchronous: every store here is a small local read or
/// write, and an app can ask <see cref="TesseraClient.IsSignedIn"/> from a property getter.
/// </summary>
/// <remarks>
/// Two copies of an app may share one store (one token file): each must bear the other having cleared or replaced the
/// token at any moment. <see cref="Load"/> returns null for a token that is gone, and <see cref="Clear"/> of a token
/// that is already gone does nothing.
/// </remarks>
public interface ITokenStore
{
    /// <summary>The stored token, or null when none is stored (or it cannot be read).</summary>
    string? Load();

    /// <summary>Stores <paramref name="token"/>, replacing any other.</summary>
    void Save(string token);

    /// <summary>Forgets the token; nothing happens when none is stored.</summary>
    void Clear();
}

/// <summary>Keeps the token in memory only: for tests, and for apps that make the person sign in at every start.</summary>
public sealed class MemoryTokenStore : ITokenStore
{
    private volatile string? _token;

    public MemoryTokenStore(string? token = null) => _token = token;

    public string? Load() => _token;

    public void Save(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _token = token;
    }

    public void Clear() => _token = null;
}
