using System.Buffers.Text;
using System.Security.Cryptography;

namespace Tessera.Core.Sessions;

/// <summary>Creates and hashes the opaque secrets Tessera hands out (session tokens, password reset tokens).</summary>
public static class SecretTokens
{
    /// <summary>256 bits from the CSPRNG.</summary>
    public const int SecretBytes = 32;

    /// <summary>Base64url without padding of <see cref="SecretBytes"/> bytes.</summary>
    public const int TokenLength = 43;

    public static string Create(out TokenHash hash)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        hash = HashSecret(secret);
        var token = Base64Url.EncodeToString(secret);
        CryptographicOperations.ZeroMemory(secret);
        return token;
    }

    /// <summary>Hashes a token presented by a client; false for anything that is not a well-formed token.</summary>
    public static bool TryHash(ReadOnlySpan<char> token, out TokenHash hash)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        if (token.Length != TokenLength
            || Base64Url.DecodeFromChars(token, secret, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != SecretBytes)
        {
            hash = default;
            return false;
        }

        hash = HashSecret(secret);
        return true;
    }

    // One SHA-256 context per thread, reused: the one-shot SHA256.HashData sets up and frees an OpenSSL digest
    // context on every call, which was most of the cost of a cache-hit session check (bench/, docs/performance.md).
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private static TokenHash HashSecret(ReadOnlySpan<byte> secret)
    {
        var sha256 = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(secret);
        Span<byte> digest = stackalloc byte[TokenHash.Size];
        sha256.GetHashAndReset(digest);
        return TokenHash.FromBytes(digest);
    }
}
