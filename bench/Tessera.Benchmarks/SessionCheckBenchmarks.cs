using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Tessera.Core.Caching;
using Tessera.Core.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;

namespace Tessera.Benchmarks;

/// <summary>
/// What a session check costs (DESIGN.md, promise 4: "about as much as a dictionary lookup on the hot path"):
/// the three paths of <see cref="SessionValidator.CheckAsync"/> and, for scale, the two building blocks of a hit.
/// </summary>
[MemoryDiagnoser]
public class SessionCheckBenchmarks
{
    /// <summary>Sessions in the node cache besides the measured one.</summary>
    public const int OtherCachedSessions = 10_000;

    // Right length, not base64url: fails in the decoder, the most expensive way to be malformed.
    private const string MalformedTokenText = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!";

    private readonly ConcurrentDictionary<TokenKey, CachedSession> _dictionary = new();
    private BenchmarkServices _services = null!;
    private SessionValidator _validator = null!;
    private SessionCache _cache = null!;
    private Invalidation _invalidateSession = null!;
    private string _token = null!;
    private string _unknownToken = null!;
    private TokenKey _key;

    [GlobalSetup]
    public void Setup()
    {
        _services = BenchmarkServices.StartAsync().GetAwaiter().GetResult();
        _services.FillCache(OtherCachedSessions);
        _validator = _services.Validator;
        _cache = _services.Cache;
        _token = _services.Token;
        _unknownToken = SecretTokens.Create(out _);
        _invalidateSession = Invalidation.ForSessions(_services.User.Id, [_services.Session.Id], RevocationReason.SignedOut);
        if (!SecretTokens.TryKey(_token, out _key))
        {
            throw new InvalidOperationException("The login token does not hash.");
        }

        // The raw map holds the same number of entries as the node cache.
        var first = Check(_token);
        foreach (var (hash, entry) in EnumerateFillers(OtherCachedSessions))
        {
            _dictionary[hash] = entry;
        }

        _dictionary[_key] = first.Entry!;

        // Each path must be the one it claims to be.
        var (hits, misses) = (Count(TesseraMetrics.CacheHits), Count(TesseraMetrics.CacheMisses));
        // CacheHit throws unless the check completes synchronously.
        Require(CacheHit().Verdict.Kind == SessionVerdictKind.Valid && Count(TesseraMetrics.CacheHits) == hits + 1 && Count(TesseraMetrics.CacheMisses) == misses, "CacheHit must hit");
        Require(CacheMiss().Verdict.Kind == SessionVerdictKind.Valid && Count(TesseraMetrics.CacheMisses) == misses + 1, "CacheMiss must miss");
        Require(UnknownToken().Verdict.Kind == SessionVerdictKind.Unauthenticated && Count(TesseraMetrics.CacheMisses) == misses + 2, "UnknownToken must miss");
        Require(CacheHit().Verdict.Kind == SessionVerdictKind.Valid && Count(TesseraMetrics.CacheMisses) == misses + 2, "CacheMiss must refill the cache");
        Require(MalformedToken().Verdict.Kind == SessionVerdictKind.Unauthenticated, "MalformedToken must be refused");
    }

    /// <summary>What a counter of the services' meter shows now, read as an exporter reads it.</summary>
    private long Count(string instrument)
    {
        long value = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (published, l) =>
        {
            if (ReferenceEquals(published.Meter, _services.Metrics.Meter) && published.Name == instrument)
            {
                l.EnableMeasurementEvents(published);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary>The hot path: the token's session is in the node cache.</summary>
    [Benchmark]
    public SessionCheck CacheHit()
    {
        var pending = _validator.CheckAsync(_token);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("A cache hit did not complete synchronously.");
        }

        return pending.Result;
    }

    /// <summary>The session's cache entry is dropped by an invalidation first, so the check reads SQLite and refills.</summary>
    [Benchmark]
    public SessionCheck CacheMiss()
    {
        _cache.Handle(_invalidateSession);
        return Check(_token);
    }

    /// <summary>A well-formed token that names no session: never cached, so every one reads SQLite.</summary>
    [Benchmark]
    public SessionCheck UnknownToken() => Check(_unknownToken);

    /// <summary>A token of the right length that is not base64url: refused before any hashing or lookup.</summary>
    [Benchmark]
    public SessionCheck MalformedToken() => Check(MalformedTokenText);

    /// <summary>Building block: base64url-decode the token and BLAKE3 it (the cache key, on every check).</summary>
    [Benchmark]
    public bool TryKey() => SecretTokens.TryKey(_token, out _);

    /// <summary>Building block: base64url-decode the token and SHA-256 it (the store's key, on a miss).</summary>
    [Benchmark]
    public bool TryHash() => SecretTokens.TryHash(_token, out _);

    /// <summary>Building block: one lookup in a ConcurrentDictionary keyed by the token key (same size as the cache).</summary>
    [Benchmark]
    public bool DictionaryLookup() => _dictionary.TryGetValue(_key, out _);

    private SessionCheck Check(string token)
    {
        var pending = _validator.CheckAsync(token);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    private IEnumerable<(TokenKey Key, CachedSession Entry)> EnumerateFillers(int count)
    {
        var user = new CachedUser(_services.User);
        for (var i = 0; i < count; i++)
        {
            SecretTokens.TryKey(SecretTokens.Create(out var hash), out var key);
            yield return (key, new CachedSession(key, _services.Session with { TokenHash = hash }, user, _services.Session.LastActiveAt));
        }
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: " + what + ".");
        }
    }
}
