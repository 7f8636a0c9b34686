using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Tessera.Core.ExternalLogin;

/// <summary>
/// Proof Key for Code Exchange (RFC 7636), S256 only, between a native client and Tessera in the loopback flow: the
/// challenge goes out through the browser, the verifier comes back with the code on the client's own connection, so a
/// code that another program on the machine intercepts is worth nothing to it. (The "plain" method would send the secret
/// through the browser too, so it is refused.)
/// </summary>
public static class Pkce
{
    /// <summary>The only method accepted.</summary>
    public const string S256 = "S256";

    /// <summary>BASE64URL(SHA-256(verifier)) without padding: always 43 characters.</summary>
    public const int ChallengeLength = 43;

    /// <summary>A challenge as S256 makes it: 43 base64url characters (32 bytes).</summary>
    public static bool IsWellFormedChallenge(string? challenge) =>
        challenge is { Length: ChallengeLength } && Base64Url.IsValid(challenge, out var decoded) && decoded == SHA256.HashSizeInBytes;

    /// <summary>RFC 7636 section 4.1: 43 to 128 characters of the unreserved set.</summary>
    public static bool IsWellFormedVerifier(string? verifier) =>
        verifier is { Length: >= 43 and <= 128 } && verifier.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <summary>The S256 challenge of <paramref name="verifier"/>.</summary>
    public static string ChallengeOf(string verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
    }

    /// <summary>Whether <paramref name="verifier"/> is the one behind <paramref name="challenge"/>, compared in constant time.</summary>
    public static bool Matches(string verifier, string challenge)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(challenge);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ChallengeOf(verifier)), Encoding.ASCII.GetBytes(challenge));
    }
}
