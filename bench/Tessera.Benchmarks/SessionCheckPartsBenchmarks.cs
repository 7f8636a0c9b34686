using System.Buffers.Text;
using BenchmarkDotNet.Attributes;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Sessions;

namespace Tessera.Benchmarks;

/// <summary>
/// The steps of a cache hit one by one, to see what each costs: base64url decode, BLAKE3 (the cache key), the node-cache
/// lookup (<see cref="SessionCache.TryGet"/>: the trust flag, the map, the staleness flags), the clock, the rule and the
/// counters, and SHA-256 (what a miss adds, and what every hit paid before the cache was keyed by BLAKE3). Their sum
/// should come close to <see cref="SessionCheckBenchmarks.CacheHit"/>. Then two copies of the hit path made of the same
/// public pieces: one exactly as <see cref="SessionValidator.CheckAsync"/> does it (to show the copy costs what the real
/// thing costs) and one that also computes the SHA-256, as the hit did when the cache was keyed by it (issue 15).
/// </summary>
[MemoryDiagnoser]
public class SessionCheckPartsBenchmarks
{
    private readonly byte[] _secret = new byte[SecretTokens.SecretBytes];

    private TesseraMetrics _metrics = null!;
    private ActivityTracker _activity = null!;
    private BenchmarkServices _services = null!;
    private SessionCache _cache = null!;
    private TimeProvider _clock = null!;
    private CachedSession _entry = null!;
    private string _token = null!;
    private TokenKey _key;
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
        if (!SecretTokens.TryDecode(_token, _secret) || !SecretTokens.TryKey(_token, out _key) || !_cache.TryGet(_key, out _))
        {
            throw new InvalidOperationException("The session is not in the node cache.");
        }

        if (!HitPathAsShipped().Holds || !HitPathWithSha256().Holds)
        {
            throw new InvalidOperationException("The hit-path copies do not hold.");
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

    /// <summary>The cache key: BLAKE3 of the 32-byte secret.</summary>
    [Benchmark]
    public TokenKey Blake3Of32Bytes() => SecretTokens.Key(_secret);

    /// <summary>The store's key: SHA-256 of the 32-byte secret (per-thread context, as shipped); only a miss computes it.</summary>
    [Benchmark]
    public TokenHash Sha256Of32Bytes() => SecretTokens.Hash(_secret);

    [Benchmark]
    public bool SessionCacheTryGet() => _cache.TryGet(_key, out _);

    [Benchmark]
    public DateTimeOffset ClockGetUtcNow() => _clock.GetUtcNow();

    [Benchmark]
    public SessionVerdict SessionRuleEvaluate() =>
        SessionRule.Evaluate(_entry.IsRevoked, _entry.RevokeReason, _entry.AbsoluteExpiresAt, _entry.LastActiveAt, _entry.User.User, _now, _idleTimeout);

    /// <summary>The two interlocked increments a hit makes (hit counter, verdict counter); the meter reads them when collected.</summary>
    [Benchmark]
    public void MetricsIncrements()
    {
        _metrics.CacheHit();
        _metrics.SessionChecked(SessionVerdictKind.Valid);
    }

    /// <summary>The cache-hit path of <see cref="SessionValidator.CheckAsync"/>, step by step, as shipped.</summary>
    [Benchmark]
    public SessionCheck HitPathAsShipped()
    {
        Span<byte> secret = stackalloc byte[SecretTokens.SecretBytes];
        return SecretTokens.TryDecode(_token, secret) ? HitPath(SecretTokens.Key(secret)) : SessionCheck.Unauthenticated;
    }

    /// <summary>The same path computing the token's SHA-256 as well: what a hit cost when the cache was keyed by it.</summary>
    [Benchmark]
    public SessionCheck HitPathWithSha256()
    {
        Span<byte> secret = stackalloc byte[SecretTokens.SecretBytes];
        if (!SecretTokens.TryDecode(_token, secret))
        {
            return SessionCheck.Unauthenticated;
        }

        var hash = SecretTokens.Hash(secret);
        return hash == default ? SessionCheck.Unauthenticated : HitPath(SecretTokens.Key(secret));
    }

    private SessionCheck HitPath(TokenKey key)
    {
        if (!_cache.TryGet(key, out var entry))
        {
            throw new InvalidOperationException("The copy of the hit path missed the cache.");
        }

        _services.Metrics.CacheHit();
        var now = _clock.GetUtcNow();
        var verdict = SessionRule.Evaluate(entry.IsRevoked, entry.RevokeReason, entry.AbsoluteExpiresAt, entry.LastActiveAt, entry.User.User, now, _idleTimeout);
        _services.Metrics.SessionChecked(verdict.Kind);
        if (verdict.Holds)
        {
            _activity.Touch(entry, now);
        }

        return new SessionCheck(verdict, entry);
    }
}
