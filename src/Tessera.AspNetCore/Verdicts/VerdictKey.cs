using System.Runtime.InteropServices;

namespace Tessera.AspNetCore.Verdicts;

/// <summary>
/// The key a token's verdict is cached under: the token's BLAKE3 hash, so that the app's memory holds no usable token
/// for longer than a request. BLAKE3 rather than SHA-256 because this runs on every authenticated request: the managed
/// BLAKE3 hashes a token in under 100 ns, where SHA-256 through OpenSSL took about 600 ns, most of a cached request's
/// cost in the handler (docs/performance.md, "Relying apps").
/// </summary>
internal readonly struct VerdictKey : IEquatable<VerdictKey>
{
    private readonly ulong _a, _b, _c, _d;

    private VerdictKey(ReadOnlySpan<byte> hash)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(hash);
        (_a, _b, _c, _d) = (words[0], words[1], words[2], words[3]);
    }

    /// <summary>Hashes the token's UTF-16 code units as they are: the key never leaves this process.</summary>
    public static VerdictKey Of(ReadOnlySpan<char> token)
    {
        Span<byte> hash = stackalloc byte[32];
        Blake3.Hasher.Hash(MemoryMarshal.AsBytes(token), hash);
        return new VerdictKey(hash);
    }

    public bool Equals(VerdictKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is VerdictKey other && Equals(other);

    // The bits of a cryptographic hash are uniform already.
    public override int GetHashCode() => (int)_a;
}
