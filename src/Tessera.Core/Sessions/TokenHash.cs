using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Tessera.Core.Sessions;

/// <summary>
/// The SHA-256 of a secret token: the only form in which a token is stored or used as a key.
/// A 32-byte value type so that hashing and looking up a token allocates nothing.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct TokenHash : IEquatable<TokenHash>
{
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public static TokenHash FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A token hash is {Size} bytes.", nameof(bytes));
        }

        return MemoryMarshal.Read<TokenHash>(bytes);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        MemoryMarshal.Write(bytes, in this);
        return bytes;
    }

    public bool Equals(TokenHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is TokenHash other && Equals(other);

    // The value is already uniformly random: any 32 bits of it make a good hash code.
    public override int GetHashCode() => (int)_a;

    public static bool operator ==(TokenHash left, TokenHash right) => left.Equals(right);

    public static bool operator !=(TokenHash left, TokenHash right) => !left.Equals(right);

    public override string ToString() => Convert.ToHexStringLower(ToArray());
}

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
