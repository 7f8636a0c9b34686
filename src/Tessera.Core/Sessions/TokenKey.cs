using System.Runtime.InteropServices;

namespace Tessera.Core.Sessions;

/// <summary>
/// The key a node's session cache holds a session under: the BLAKE3 hash of the token's 256-bit secret, 128 bits of it.
/// Not the
/// <see cref="TokenHash"/> (SHA-256) because the key is computed on every check and SHA-256 through OpenSSL was about
/// 90 % of a cache hit (docs/performance.md, "What a hit costs"); the SHA-256 is computed only on a miss, to read the
/// store. Like the token hash, no usable token can be derived from it (docs/security.md, "Session tokens").
/// <para>128 bits because a million of them are held: they cost 32 bytes less per session than 256 (docs/performance.md,
/// "Scale (issue 15)"), and a key only has to tell the cached sessions apart, never to be hard to guess. Finding a
/// secret whose key equals one of N cached keys takes about 2^128 / N tries (2^108 for a million), and two of a million
/// random tokens share a key with a chance of about 2^-89.</para>
/// <para>Only <see cref="SecretTokens"/> makes one, and only from a secret: a key derived from a stored hash would let a
/// copy of the database present that hash as a token and hit the entry.</para>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct TokenKey : IEquatable<TokenKey>
{
    public const int Size = 16;

    private readonly ulong _a;
    private readonly ulong _b;

    internal static TokenKey FromBytes(ReadOnlySpan<byte> bytes) => MemoryMarshal.Read<TokenKey>(bytes);

    public bool Equals(TokenKey other) => _a == other._a && _b == other._b;

    public override bool Equals(object? obj) => obj is TokenKey other && Equals(other);

    // The bits of a cryptographic hash are uniform already: any 32 of them make a good hash code.
    public override int GetHashCode() => (int)_a;

    public static bool operator ==(TokenKey left, TokenKey right) => left.Equals(right);

    public static bool operator !=(TokenKey left, TokenKey right) => !left.Equals(right);
}
