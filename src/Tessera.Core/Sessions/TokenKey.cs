using System.Runtime.InteropServices;

namespace Tessera.Core.Sessions;

/// <summary>
/// The key a node's session cache holds a session under: the BLAKE3 hash of the token's 256-bit secret. Not the
/// <see cref="TokenHash"/> (SHA-256) because the key is computed on every check and SHA-256 through OpenSSL was about
/// 90 % of a cache hit (docs/performance.md, "What a hit costs"); the SHA-256 is computed only on a miss, to read the
/// store. Like the token hash, no usable token can be derived from it (docs/security.md, "Session tokens").
/// <para>Only <see cref="SecretTokens"/> makes one, and only from a secret: a key derived from a stored hash would let a
/// copy of the database present that hash as a token and hit the entry.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct TokenKey : IEquatable<TokenKey>
{
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    internal static TokenKey FromBytes(ReadOnlySpan<byte> bytes) => MemoryMarshal.Read<TokenKey>(bytes);

    public bool Equals(TokenKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is TokenKey other && Equals(other);

    // The bits of a cryptographic hash are uniform already: any 32 of them make a good hash code.
    public override int GetHashCode() => (int)_a;

    public static bool operator ==(TokenKey left, TokenKey right) => left.Equals(right);

    public static bool operator !=(TokenKey left, TokenKey right) => !left.Equals(right);
}
