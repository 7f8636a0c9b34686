using System.Globalization;
using System.Security.Cryptography;
using Tessera.Core.Invalidations;

namespace Tessera.Server.Revocations;

/// <summary>
/// One entry of the revocation log: a <c>revoked</c> entry (the invalidation as this node handled it) or a <c>reset</c>
/// entry (every app drops every verdict, for <see cref="ResetReason"/>).
/// </summary>
internal sealed record RevocationEntry(long Sequence, long Timestamp, Invalidation? Revoked, string? ResetReason);

/// <summary>What "everything after <see cref="After"/>" reads: the entries, or the reason the app must start over instead.</summary>
internal readonly record struct RevocationLogRead(long After, IReadOnlyList<RevocationEntry>? Entries, string? ResetReason)
{
    public bool CanResume => Entries is not null;
}

/// <summary>
/// This node's numbered log of what its relying apps must hear, since the process started: ids are
/// <c>{log}.{sequence}</c>, with a log name drawn at random per process, so that an id from before a restart (or from
/// another node) is told apart and answered with a reset instead of a wrong replay. It keeps every entry younger than
/// <see cref="DefaultMinAge"/> and the last <see cref="DefaultMinEntries"/> whatever their age, so that an app that lost
/// its connection for a while resumes without dropping everything; beyond both, and past <see cref="DefaultMaxEntries"/>
/// in any case (a revocation storm must not take the node's memory), the oldest entries go, and a resume from before
/// them is a reset (<c>gap</c>).
/// </summary>
internal sealed class RevocationLog
{
    public const int DefaultMinEntries = 100_000;
    public const int DefaultMaxEntries = 1_000_000;
    public static readonly TimeSpan DefaultMinAge = TimeSpan.FromMinutes(10);

    /// <summary>Reset reasons, as the stream sends them.</summary>
    public const string NewStream = "new_stream";
    public const string Gap = "gap";
    public const string NodeRestarted = "node_restarted";
    public const string TrustRegained = "trust_regained";

    private readonly Lock _lock = new();
    private readonly TimeProvider _clock;
    private readonly int _minEntries;
    private readonly int _maxEntries;
    private readonly long _minAgeTicks;
    private RevocationEntry[] _ring = new RevocationEntry[1024];
    private int _first;
    private int _count;
    private long _head;

    public RevocationLog(TimeProvider clock)
        : this(clock, DefaultMinEntries, DefaultMinAge, DefaultMaxEntries)
    {
    }

    /// <summary>A log with other bounds (tests that need entries to go without writing a hundred thousand).</summary>
    public RevocationLog(TimeProvider clock, int minEntries, TimeSpan minAge, int maxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minEntries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, minEntries);
        _clock = clock;
        _minEntries = minEntries;
        _maxEntries = maxEntries;
        _minAgeTicks = (long)(minAge.TotalSeconds * clock.TimestampFrequency);
        Name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>This process's log: 16 hex digits, never containing the dot that ends it in an id.</summary>
    public string Name { get; }

    /// <summary>The sequence of the last entry appended; 0 before the first.</summary>
    public long Head
    {
        get
        {
            lock (_lock)
            {
                return _head;
            }
        }
    }

    /// <summary>Entries held now (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public string IdOf(long sequence) => string.Create(CultureInfo.InvariantCulture, $"{Name}.{sequence}");

    public long AppendRevoked(Invalidation invalidation) => Append(invalidation, null);

    public long AppendReset(string reason) => Append(null, reason);

    /// <summary>
    /// Every entry after the event id <paramref name="lastEventId"/> (an app's <c>Last-Event-ID</c>), or why it cannot be
    /// resumed: <c>node_restarted</c> for an id this log did not write (another process, another node, or not an id at
    /// all), <c>gap</c> for one of this log older than what it keeps, or ahead of its head.
    /// </summary>
    public RevocationLogRead ReadAfter(string lastEventId)
    {
        var dot = lastEventId.LastIndexOf('.');
        if (dot <= 0 || !lastEventId.AsSpan(0, dot).SequenceEqual(Name)
            || !long.TryParse(lastEventId.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var after))
        {
            return new RevocationLogRead(0, null, NodeRestarted);
        }

        return ReadAfter(after);
    }

    /// <summary>Every entry after <paramref name="after"/>, or <c>gap</c> when some of them are no longer kept.</summary>
    public RevocationLogRead ReadAfter(long after)
    {
        lock (_lock)
        {
            var firstKept = _head - _count + 1;
            if (after > _head || after < firstKept - 1)
            {
                return new RevocationLogRead(after, null, Gap);
            }

            var entries = new RevocationEntry[_head - after];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = _ring[(_first + (int)(after + 1 - firstKept) + i) % _ring.Length];
            }

            return new RevocationLogRead(after, entries, null);
        }
    }

    private long Append(Invalidation? invalidation, string? resetReason)
    {
        var now = _clock.GetTimestamp();
        lock (_lock)
        {
            Trim(now);
            if (_count == _ring.Length)
            {
                Grow();
            }

            _head++;
            _ring[(_first + _count) % _ring.Length] = new RevocationEntry(_head, now, invalidation, resetReason);
            _count++;
            return _head;
        }
    }

    /// <summary>Drops the oldest entries beyond the last <c>minEntries</c> that are older than the minimum age, and any beyond the maximum.</summary>
    private void Trim(long now)
    {
        while (_count >= _maxEntries || (_count >= _minEntries && now - _ring[_first].Timestamp > _minAgeTicks))
        {
            _ring[_first] = null!;
            _first = (_first + 1) % _ring.Length;
            _count--;
        }
    }

    private void Grow()
    {
        var bigger = new RevocationEntry[Math.Min(_ring.Length * 2, _maxEntries)];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_first + i) % _ring.Length];
        }

        _ring = bigger;
        _first = 0;
    }
}
