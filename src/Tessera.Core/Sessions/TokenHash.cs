using System.Runtime.InteropServices;

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
