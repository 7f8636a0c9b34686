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
        hash = Hash(secret);
        var token = Base64Url.EncodeToString(secret);
        CryptographicOperations.ZeroMemory(secret);
        return token;
    }

    /// <summary>Hashes a token presented by a client; false for anything that is not a well-formed token.</summary>
    public static bool TryHash(ReadOnlySpan<char> token, out TokenHash hash)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        if (!TryDecode(token, secret))
        {
            hash = default;
            return false;
        }

        hash = Hash(secret);
        return true;
    }

    /// <summary>The cache key of a token presented by a client; false for anything that is not a well-formed token.</summary>
    public static bool TryKey(ReadOnlySpan<char> token, out TokenKey key)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        if (!TryDecode(token, secret))
        {
            key = default;
            return false;
        }

        key = Key(secret);
        return true;
    }

    /// <summary>
    /// Decodes a token into its <see cref="SecretBytes"/>-byte secret; false for anything that is not a well-formed token.
    /// The decoding is canonical (base64url without padding of exactly 32 bytes), so one secret has one token.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> token, Span<byte> secret) =>
        token.Length == TokenLength
        && secret.Length == SecretBytes
        && Base64Url.DecodeFromChars(token, secret, out _, out var written) == System.Buffers.OperationStatus.Done
        && written == SecretBytes;

    /// <summary>The SHA-256 of a secret: the only form in which the store holds it, and how the store finds it.</summary>
    public static TokenHash Hash(ReadOnlySpan<byte> secret)
    {
        var sha256 = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(secret);
        Span<byte> digest = stackalloc byte[TokenHash.Size];
        sha256.GetHashAndReset(digest);
        return TokenHash.FromBytes(digest);
    }

    /// <summary>
    /// The BLAKE3 of a secret: the key of the node's session cache, computed on every check (managed BLAKE3 takes under
    /// 100 ns and allocates nothing, where SHA-256 through OpenSSL took about 500 ns).
    /// </summary>
    public static TokenKey Key(ReadOnlySpan<byte> secret)
    {
        Span<byte> digest = stackalloc byte[TokenKey.Size];
        Blake3.Hasher.Hash(secret, digest);
        return TokenKey.FromBytes(digest);
    }

    // One SHA-256 context per thread, reused: the one-shot SHA256.HashData sets up and frees an OpenSSL digest
    // context on every call (bench/, docs/performance.md).
    [ThreadStatic]
    private static IncrementalHash? t_sha256;
}
