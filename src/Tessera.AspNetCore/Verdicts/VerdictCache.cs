using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;

namespace Tessera.AspNetCore.Verdicts;

/// <summary>
/// The app's verdicts, kept under the rules of docs/relying-apps.md: a cached verdict is used only while the lease from
/// the revocation stream holds, only if no event for its session or user (nor a reset) was applied since it was fetched,
/// and for at most <see cref="TesseraAuthenticationOptions.MaxVerdictAge"/>.
/// </summary>
/// <remarks>
/// Events do not search the cache: each one takes the next number of a counter and marks what it names (the session,
/// the user when <c>userChanged</c>, everything on a <c>reset</c>). A verdict remembers the counter from before it was
/// fetched, and any mark above that number voids it. The same test tells "a verdict fetched while an event for it arrived",
/// which is fetched again. Marks are kept as long as a verdict fetched before them could still be used, then swept.
/// </remarks>
internal sealed class VerdictCache : IDisposable
{
    private readonly TimeProvider _clock;
    private readonly MemoryCache _entries;
    private readonly TimeSpan _maxAge;
    private readonly TimeSpan _markLifetime;
    private readonly ConcurrentDictionary<string, Mark> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Mark> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _settlingUntil = new(StringComparer.Ordinal);
    private long _sequence;
    private long _resetMark;
    private long _leaseUntil;
    private long _lastSweep;

    public VerdictCache(TimeProvider clock, int size, TimeSpan maxAge, TimeSpan backchannelTimeout)
    {
        _clock = clock;
        _maxAge = maxAge;
        _markLifetime = maxAge + backchannelTimeout + TimeSpan.FromSeconds(1);
        _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = size });
        _lastSweep = clock.GetTimestamp();
    }

    /// <summary>The counter now: read before an introspection, kept with its verdict.</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    /// <summary>Whether the lease from the stream holds at this moment.</summary>
    public bool LeaseHolds
    {
        get
        {
            var until = Interlocked.Read(ref _leaseUntil);
            return until != 0 && _clock.GetTimestamp() < until;
        }
    }

    /// <summary>Extends (or shortens) the lease to a moment of this process's monotonic clock; 0 ends it.</summary>
    public void SetLease(long untilTimestamp) => Interlocked.Exchange(ref _leaseUntil, untilTimestamp);

    /// <summary>A cached verdict usable now, or the known end of its session; null when Tessera must be asked.</summary>
    /// <remarks>
    /// The path of nearly every authenticated request, so it reads the clock once and, while no event at all has been
    /// applied since the verdict was fetched (the counter has not moved), looks at no mark.
    /// </remarks>
    public Verdict? Find(VerdictKey key)
    {
        if (!_entries.TryGetValue(key, out Entry? entry) || entry is null)
        {
            return null;
        }

        var verdict = entry.Verdict;
        if (Interlocked.Read(ref _sequence) != verdict.Sequence)
        {
            // A session a revoked event named stays ended (revocation is final), lease or not.
            if (_sessions.TryGetValue(verdict.Introspection.Sid!, out var mark) && mark.Sequence > verdict.Sequence)
            {
                if (mark.Ended)
                {
                    return verdict with { KnownEnded = true, EndReason = mark.Reason };
                }

                _entries.Remove(key);
                return null;
            }

            if (ChangedSince(verdict))
            {
                _entries.Remove(key);
                return null;
            }
        }

        var now = _clock.GetTimestamp();
        if (now >= entry.UsableUntil || now >= Interlocked.Read(ref _leaseUntil))
        {
            _entries.Remove(key);
            return null;
        }

        return verdict;
    }

    /// <summary>Whether an event for the verdict's session or user, or a reset, was applied after it was fetched.</summary>
    public bool ChangedSince(Verdict verdict)
    {
        var sequence = verdict.Sequence;
        if (Interlocked.Read(ref _resetMark) > sequence)
        {
            return true;
        }

        var introspection = verdict.Introspection;
        return (introspection.Sid is { } sid && _sessions.TryGetValue(sid, out var session) && session.Sequence > sequence)
            || (introspection.Sub is { } sub && _users.TryGetValue(sub, out var user) && user.Sequence > sequence);
    }

    /// <summary>Whether a revoked event named the session (as long as it is remembered), and the reason it gave.</summary>
    public bool TryGetEnd(string sessionId, out string? reason)
    {
        if (_sessions.TryGetValue(sessionId, out var mark) && mark.Ended)
        {
            reason = mark.Reason;
            return true;
        }

        reason = null;
        return false;
    }

    /// <summary>Keeps an active verdict fetched by introspection, unless its user is within the settle window.</summary>
    public void Add(VerdictKey key, Verdict verdict, long fetchStarted)
    {
        if (!verdict.Active || verdict.Introspection.Sub is not { } sub)
        {
            return;
        }

        if (_settlingUntil.TryGetValue(sub, out var until) && _clock.GetTimestamp() < until)
        {
            return;
        }

        // Used until MaxVerdictAge from when the fetch started, and never past the session's own expiry: both as moments
        // of the monotonic clock, so that a cache hit reads the clock once.
        var now = _clock.GetTimestamp();
        var usableUntil = fetchStarted + (long)(_maxAge.TotalSeconds * _clock.TimestampFrequency);
        if (verdict.Introspection.Exp is { } exp)
        {
            var leftMilliseconds = exp * 1000 - _clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (leftMilliseconds <= 0)
            {
                return;
            }

            usableUntil = Math.Min(usableUntil, now + leftMilliseconds * _clock.TimestampFrequency / 1000);
        }

        using var entry = _entries.CreateEntry(key);
        entry.Size = 1;
        entry.AbsoluteExpirationRelativeToNow = _maxAge;
        entry.Value = new Entry(verdict, usableUntil);
    }

    /// <summary>Drops one token's verdict (the app signed it out).</summary>
    public void Remove(VerdictKey key) => _entries.Remove(key);

    /// <summary>A <c>revoked</c> event: marks its sessions ended and, when <c>userChanged</c>, the user changed.</summary>
    public void ApplyRevoked(string? userId, IReadOnlyCollection<string> sessionIds, string? reason, bool userChanged, TimeSpan settle)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var now = _clock.GetTimestamp();
        foreach (var sid in sessionIds)
        {
            _sessions[sid] = new Mark(sequence, now, Ended: true, reason);
        }

        if (userId is not null)
        {
            if (userChanged)
            {
                _users[userId] = new Mark(sequence, now, Ended: false, reason);
            }

            if (settle > TimeSpan.Zero)
            {
                _settlingUntil[userId] = now + (long)(settle.TotalSeconds * _clock.TimestampFrequency);
            }
        }

        SweepIfDue(now);
    }

    /// <summary>A <c>reset</c> or <c>closed</c>: every verdict is dropped, and so is every fetch in flight.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _resetMark, Interlocked.Increment(ref _sequence));
        _entries.Clear();
    }

    /// <summary>Forgets marks no verdict could still be held against (older than the longest a verdict or a fetch lives).</summary>
    public void SweepIfDue(long now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (_clock.GetElapsedTime(last, now) < _markLifetime || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (key, mark) in _sessions)
        {
            if (_clock.GetElapsedTime(mark.At, now) > _markLifetime)
            {
                _sessions.TryRemove(KeyValuePair.Create(key, mark));
            }
        }

        foreach (var (key, mark) in _users)
        {
            if (_clock.GetElapsedTime(mark.At, now) > _markLifetime)
            {
                _users.TryRemove(KeyValuePair.Create(key, mark));
            }
        }

        foreach (var (key, until) in _settlingUntil)
        {
            if (until < now)
            {
                _settlingUntil.TryRemove(KeyValuePair.Create(key, until));
            }
        }
    }

    public int Count => _entries.Count;

    public void Dispose() => _entries.Dispose();

    /// <summary>A verdict and the moment of the monotonic clock from which it is no longer used.</summary>
    private sealed record Entry(Verdict Verdict, long UsableUntil);

    private readonly record struct Mark(long Sequence, long At, bool Ended, string? Reason);
}
