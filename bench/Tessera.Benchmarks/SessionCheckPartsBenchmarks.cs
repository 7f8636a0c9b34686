using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Sessions;

namespace Tessera.Benchmarks;

/// <summary>
/// The steps of a cache hit one by one, to see what each costs: base64url decode, SHA-256, the node-cache lookup
/// (<see cref="SessionCache.TryGet"/>: the trust flag, the map, the staleness flags), the clock, the rule and the
/// counters. Their sum should come close to <see cref="SessionCheckBenchmarks.CacheHit"/>. Then two copies of the hit
/// path made of the same public pieces: one exactly as <see cref="SessionValidator.CheckAsync"/> does it (to show the
/// copy costs what the real thing costs) and one that hashes with a per-thread <see cref="IncrementalHash"/> instead
/// of <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> (what the change suggested in
/// docs/performance.md would save).
/// </summary>
[MemoryDiagnoser]
public class SessionCheckPartsBenchmarks
{
    private readonly byte[] _secret = new byte[SecretTokens.SecretBytes];
    private readonly byte[] _digest = new byte[TokenHash.Size];
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private TesseraMetrics _metrics = null!;
    private ActivityTracker _activity = null!;
    private BenchmarkServices _services = null!;
    private SessionCache _cache = null!;
    private TimeProvider _clock = null!;
    private CachedSession _entry = null!;
    private string _token = null!;
    private TokenHash _tokenHash;
    private TimeSpan _idleTimeout;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _services = BenchmarkServices.StartAsync().GetAwaiter().GetResult();
        _metrics = _services.Metrics;
        _services.FillCache(SessionCheckBenchmarks.OtherCachedSessions);
        _cache = _services.Cache;
        _clock = _services.Clock;
        _activity = _services.Activity;
        _token = _services.Token;
        _idleTimeout = _services.IdleTimeout;
        _now = _clock.GetUtcNow();
        var first = _services.Validator.CheckAsync(_token).AsTask().GetAwaiter().GetResult();
        _entry = first.Entry ?? throw new InvalidOperationException("The login token does not name a session.");
        if (!SecretTokens.TryHash(_token, out _tokenHash) || !_cache.TryGet(_tokenHash, out _))
        {
            throw new InvalidOperationException("The session is not in the node cache.");
        }

        if (!TryHashPerThread(_token, out var perThread) || perThread != _tokenHash
            || !HitPathAsShipped().Holds || !HitPathPerThreadSha256().Holds)
        {
            throw new InvalidOperationException("The hit-path copies do not agree with SecretTokens.TryHash.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark]
    public int Base64UrlDecode()
    {
        Base64Url.DecodeFromChars(_token, _secret, out _, out var written);
        return written;
    }

    [Benchmark]
    public int Sha256Of32Bytes() => SHA256.HashData(_secret, _digest);

    [Benchmark]
    public bool SessionCacheTryGet() => _cache.TryGet(_tokenHash, out _);

    [Benchmark]
    public DateTimeOffset ClockGetUtcNow() => _clock.GetUtcNow();

    [Benchmark]
    public SessionVerdict SessionRuleEvaluate() =>
        SessionRule.Evaluate(_entry.Session, _entry.LastActiveAt, _entry.User.User, _now, _idleTimeout);

    /// <summary>The two interlocked increments a hit makes (hit counter, verdict counter); the meter reads them when collected.</summary>
    [Benchmark]
    public void MetricsIncrements()
    {
        _metrics.CacheHit();
        _metrics.SessionChecked(SessionVerdictKind.Valid);
    }

    /// <summary>The cache-hit path of <see cref="SessionValidator.CheckAsync"/>, step by step, as shipped.</summary>
    [Benchmark]
    public SessionCheck HitPathAsShipped() =>
        SecretTokens.TryHash(_token, out var hash) ? HitPath(hash) : SessionCheck.Unauthenticated;

    /// <summary>The same path with the token hashed by a per-thread <see cref="IncrementalHash"/>.</summary>
    [Benchmark]
    public SessionCheck HitPathPerThreadSha256() =>
        TryHashPerThread(_token, out var hash) ? HitPath(hash) : SessionCheck.Unauthenticated;

    private SessionCheck HitPath(TokenHash hash)
    {
        if (!_cache.TryGet(hash, out var entry))
        {
            throw new InvalidOperationException("The copy of the hit path missed the cache.");
        }

        _services.Metrics.CacheHit();
        var now = _clock.GetUtcNow();
        var verdict = SessionRule.Evaluate(entry.Session, entry.LastActiveAt, entry.User.User, now, _idleTimeout);
        _services.Metrics.SessionChecked(verdict.Kind);
        if (verdict.Holds)
        {
            _activity.Touch(entry, now);
        }

        return new SessionCheck(verdict, entry);
    }

    /// <summary><see cref="SecretTokens.TryHash"/> with the digest context kept per thread.</summary>
    private static bool TryHashPerThread(ReadOnlySpan<char> token, out TokenHash hash)
    {
        Span<byte> secret = stackalloc byte[SecretTokens.SecretBytes];
        if (token.Length != SecretTokens.TokenLength
            || Base64Url.DecodeFromChars(token, secret, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != SecretTokens.SecretBytes)
        {
            hash = default;
            return false;
        }

        var sha256 = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(secret);
        Span<byte> digest = stackalloc byte[TokenHash.Size];
        sha256.GetHashAndReset(digest);
        hash = MemoryMarshal.Read<TokenHash>(digest);
        return true;
    }
}
