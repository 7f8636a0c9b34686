using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace Tessera.Benchmarks;

/// <summary>
/// SHA-256 of a 32-byte token secret, as <c>SecretTokens.TryHash</c> does it (the one-shot
/// <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>) and with a per-thread <see cref="IncrementalHash"/>
/// that keeps its native digest context between calls. On Linux both go through OpenSSL; the one-shot pays for
/// creating and freeing a context every time.
/// </summary>
[MemoryDiagnoser]
public class Sha256Benchmarks
{
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _digest = new byte[32];

    [Benchmark(Baseline = true)]
    public int OneShotHashData() => SHA256.HashData(_secret, _digest);

    [Benchmark]
    public int PerThreadIncrementalHash()
    {
        var sha256 = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(_secret);
        return sha256.GetHashAndReset(_digest);
    }
}
