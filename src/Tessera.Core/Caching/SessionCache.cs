using System.Collections.Concurrent;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core.Caching;

/// <summary>A user as this node last read it. Marked stale, never edited, when an invalidation names it.</summary>
public sealed class CachedUser(User user)
{
    private volatile bool _stale;

    public User User { get; } = user;

    public bool IsStale => _stale;

    internal void MarkStale() => _stale = true;
}

/// <summary>A session as this node last read it, with the in-memory last-active time that runs ahead of the store.</summary>
public sealed class CachedSession(Session session, CachedUser user, DateTimeOffset lastActiveAt)
{
    private long _lastActiveTicks = lastActiveAt.UtcTicks;
    private volatile bool _stale;

    public Session Session { get; } = session;

    public CachedUser User { get; } = user;

    public DateTimeOffset LastActiveAt => new(Volatile.Read(ref _lastActiveTicks), TimeSpan.Zero);

    /// <summary>Stale when it or its user was invalidated after it was read.</summary>
    public bool IsStale => _stale || User.IsStale;

    internal void MarkStale() => _stale = true;

    /// <summary>Moves last-active forward; false when another request already did (or the step is too small to matter).</summary>
    internal bool TryAdvanceLastActive(DateTimeOffset now, TimeSpan granularity)
    {
        var current = Volatile.Read(ref _lastActiveTicks);
        var next = now.UtcTicks;
        return next - current >= granularity.Ticks
            && Interlocked.CompareExchange(ref _lastActiveTicks, next, current) == current;
    }
}

/// <summary>
/// The node's in-memory copy of sessions and users: a hit is two dictionary lookups and no I/O. Entries are
/// dropped by invalidations, never by a TTL. A fill that raced with an invalidation is not kept (see
/// <see cref="Epoch"/>), so a stale read can answer the request that made it but can never stay cached.
/// </summary>
public sealed class SessionCache : IInvalidationHandler
{
    private readonly ConcurrentDictionary<TokenHash, CachedSession> _byTokenHash = new();
    private readonly ConcurrentDictionary<string, CachedSession> _bySessionId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedUser> _users = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private readonly HashSet<string> _distrustedBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _leases = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private int _count;
    private long _epoch;
    private long _leaseUntil = NoLease;
    private long _resets;
    private volatile bool _trusted = true;
    private volatile Func<bool>[] _currencyChecks = [];

    private const long NoLease = long.MaxValue;

    public SessionCache(int capacity = 100_000, TimeProvider? clock = null)
    {
        _capacity = capacity;
        Clock = clock ?? TimeProvider.System;
    }

    /// <summary>The clock that lease deadlines (<see cref="RenewLease"/>) are timestamps of.</summary>
    public TimeProvider Clock { get; }

    /// <summary>Changes with every invalidation. Read it before loading from the store and pass it to <see cref="Add"/>.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>
    /// Times the cache was distrusted or emptied as a whole (<see cref="Distrust"/>, <see cref="DropAll"/>): a part
    /// that keeps its own view of what this node has seen (the shared cache's gate) starts over when it moves.
    /// </summary>
    public long Resets => Interlocked.Read(ref _resets);

    /// <summary>Sessions held (kept as a counter: ConcurrentDictionary.Count takes every lock).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// False while the node cannot be sure it hears every invalidation (a lost bus subscription, for instance):
    /// every check then reads through to the store. Stale is never an option; slower is.
    /// </summary>
    public bool IsTrusted => _trusted;

    /// <summary>
    /// A hit: the entry when the cache is trusted, within its lease, current by every currency check, holds the token,
    /// and it is not stale.
    /// </summary>
    public bool TryGet(TokenHash tokenHash, out CachedSession entry)
    {
        if (_trusted && WithinLease() && IsCurrent() && _byTokenHash.TryGetValue(tokenHash, out entry!) && !entry.IsStale)
        {
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>
    /// Makes the entry for a freshly read session and user, and keeps it when no invalidation ran since
    /// <paramref name="epochBeforeRead"/>. The entry is returned either way, to answer the request that read it.
    /// </summary>
    public CachedSession Add(Session session, User user, DateTimeOffset lastActiveAt, long epochBeforeRead)
    {
        // Fills and invalidations take one lock, so an invalidation either runs before a fill (which then sees the
        // epoch moved and keeps nothing) or after it (and removes what it put). Without it, a fill could insert a
        // copy read before a revocation just after the revocation returned. Hits never take the lock.
        lock (_writeLock)
        {
            var cachedUser = _users.TryGetValue(user.Id, out var existing) && !existing.IsStale && SameAccess(existing.User, user)
                ? existing
                : new CachedUser(user);
            var entry = new CachedSession(session, cachedUser, lastActiveAt);
            if (!_trusted || Epoch != epochBeforeRead || Count >= _capacity)
            {
                return entry;
            }

            // A user copy that leaves the map is marked stale, so that no session goes on trusting a copy that
            // invalidations can no longer reach. (A different copy here means the row changed without an
            // invalidation, a direct write to the store: the newer read wins.)
            if (_users.TryGetValue(user.Id, out var replaced) && !ReferenceEquals(replaced, cachedUser))
            {
                replaced.MarkStale();
            }

            _users[user.Id] = cachedUser;
            if (_byTokenHash.TryGetValue(session.TokenHash, out var older))
            {
                // Two requests missed on the same token at once; keep the newer read.
                older.MarkStale();
                _byTokenHash[session.TokenHash] = entry;
            }
            else if (_byTokenHash.TryAdd(session.TokenHash, entry))
            {
                Interlocked.Increment(ref _count);
            }

            _bySessionId[session.Id] = entry;
            return entry;
        }
    }

    public void Handle(Invalidation invalidation)
    {
        lock (_writeLock)
        {
            Interlocked.Increment(ref _epoch);
            foreach (var sessionId in invalidation.SessionIds)
            {
                if (_bySessionId.TryGetValue(sessionId, out var entry))
                {
                    Remove(entry);
                }
            }

            if (invalidation is { UserChanged: true, UserId: { } userId } && _users.TryRemove(userId, out var user))
            {
                // Sessions that point at this user see it stale and are read again on their next check.
                user.MarkStale();
            }
        }
    }

    /// <summary>
    /// Stops serving from memory and forgets everything, until every part that distrusted the cache trusts it again.
    /// Each part that watches a feed of invalidations (the Redis bus, the PostgreSQL change listener) names itself as
    /// <paramref name="source"/>, so that one recovering cannot lift another's distrust.
    /// </summary>
    public void Distrust(string source = "manual")
    {
        lock (_writeLock)
        {
            _distrustedBy.Add(source);
            _trusted = false;
            Interlocked.Increment(ref _resets);
            Interlocked.Increment(ref _epoch);
            Clear();
        }
    }

    /// <summary>Lifts <paramref name="source"/>'s distrust; the cache serves from memory again once no part distrusts it.</summary>
    public void Trust(string source = "manual")
    {
        lock (_writeLock)
        {
            _distrustedBy.Remove(source);
            if (_distrustedBy.Count == 0)
            {
                Interlocked.Increment(ref _epoch);
                _trusted = true;
            }
        }
    }

    /// <summary>
    /// Lets the cache answer from memory only until <paramref name="untilTimestamp"/> (a timestamp of <see cref="Clock"/>)
    /// unless <paramref name="source"/> renews it; with several sources, the earliest deadline holds. A part that
    /// distrusts the cache when its proofs run out (the Redis bus's watchdog) also holds a lease on it, because a
    /// watchdog only runs when the process does: a node that was frozen for longer than the proofs last must not
    /// answer a single request from memory when it wakes, before its watchdog has had a turn. Deadlines only move
    /// forward. Reading the clock is the one cost a lease adds to a hit.
    /// </summary>
    public void RenewLease(string source, long untilTimestamp)
    {
        lock (_writeLock)
        {
            if (_leases.TryGetValue(source, out var current) && current >= untilTimestamp)
            {
                return;
            }

            _leases[source] = untilTimestamp;
            var earliest = NoLease;
            foreach (var (_, until) in _leases)
            {
                earliest = Math.Min(earliest, until);
            }

            Volatile.Write(ref _leaseUntil, earliest);
        }
    }

    /// <summary>True while no lease is held or the earliest one has not run out.</summary>
    public bool WithinLease()
    {
        var until = Volatile.Read(ref _leaseUntil);
        return until == NoLease || Clock.GetTimestamp() < until;
    }

    /// <summary>
    /// Adds a check that every hit must pass: false when its source knows, without I/O, that a change may have been
    /// committed that it has not applied yet (the SQLite change watcher compares the database's commit counter in
    /// shared memory with the last one it applied). That request then reads through to the store, like a miss, while
    /// the cache keeps its entries. It runs on every hit: it must be a few memory reads, must not block and must not
    /// throw. This is what closes the gap between a commit and the moment a watcher has applied it, which distrust
    /// (for a source that failed) cannot.
    /// </summary>
    public void AddCurrencyCheck(Func<bool> isCurrent)
    {
        ArgumentNullException.ThrowIfNull(isCurrent);
        lock (_writeLock)
        {
            _currencyChecks = [.. _currencyChecks, isCurrent];
        }
    }

    /// <summary>Removes a check added with <see cref="AddCurrencyCheck"/>.</summary>
    public void RemoveCurrencyCheck(Func<bool> isCurrent)
    {
        lock (_writeLock)
        {
            _currencyChecks = [.. _currencyChecks.Where(check => check != isCurrent)];
        }
    }

    /// <summary>True when every currency check passes (and at once when there are none).</summary>
    public bool IsCurrent()
    {
        foreach (var check in _currencyChecks)
        {
            if (!check())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The parts that currently distrust the cache.</summary>
    public IReadOnlyList<string> DistrustedBy
    {
        get
        {
            lock (_writeLock)
            {
                return [.. _distrustedBy];
            }
        }
    }

    /// <summary>Forgets every session and user (a table was emptied behind Tessera's back); trust is unchanged.</summary>
    public void DropAll()
    {
        lock (_writeLock)
        {
            Interlocked.Increment(ref _resets);
            Interlocked.Increment(ref _epoch);
            Clear();
        }
    }

    /// <summary>Drops entries that can no longer answer "valid": revoked, expired, or not seen for a long time.</summary>
    public int Sweep(DateTimeOffset now, TimeSpan idleTimeout)
    {
        var removed = 0;
        foreach (var (_, entry) in _byTokenHash)
        {
            if (entry.IsStale || entry.Session.IsRevoked || now >= entry.Session.AbsoluteExpiresAt || now >= entry.LastActiveAt + idleTimeout)
            {
                Remove(entry);
                removed++;
            }
        }

        // Users no remaining session points at are dropped too; a later fill reads them again.
        var referenced = new HashSet<CachedUser>(ReferenceEqualityComparer.Instance);
        foreach (var (_, entry) in _byTokenHash)
        {
            referenced.Add(entry.User);
        }

        foreach (var (id, user) in _users)
        {
            if ((user.IsStale || !referenced.Contains(user)) && _users.TryRemove(new KeyValuePair<string, CachedUser>(id, user)))
            {
                user.MarkStale();
            }
        }

        // The counter is kept without locks and can drift under races; set it right once per sweep.
        Volatile.Write(ref _count, _byTokenHash.Count);
        return removed;
    }

    private void Clear()
    {
        foreach (var (_, entry) in _byTokenHash)
        {
            entry.MarkStale();
        }

        foreach (var (_, user) in _users)
        {
            user.MarkStale();
        }

        _byTokenHash.Clear();
        _bySessionId.Clear();
        _users.Clear();
        Volatile.Write(ref _count, 0);
    }

    /// <summary>
    /// Whether a fresh read of a user may share the copy already held. Not by security version alone: a write straight
    /// into the SQLite file changes status or ban without moving it (SQLite's triggers cannot tell Tessera's own writes,
    /// which move it, from others' to move it for them, as PostgreSQL's do), and the read that follows, made while the
    /// change watcher is still catching up, must answer with what it read.
    /// </summary>
    private static bool SameAccess(User held, User read) =>
        held.SecurityVersion == read.SecurityVersion
        && held.Status == read.Status
        && held.Banned == read.Banned
        && held.BannedUntil == read.BannedUntil
        && held.BanReason == read.BanReason
        && held.Role == read.Role;

    /// <summary>Drops whatever is cached under the entry's token and id (a newer copy too: at worst it is read again).</summary>
    private void Remove(CachedSession entry)
    {
        entry.MarkStale();
        if (_byTokenHash.TryRemove(entry.Session.TokenHash, out var byHash))
        {
            byHash.MarkStale();
            Interlocked.Decrement(ref _count);
        }

        if (_bySessionId.TryRemove(entry.Session.Id, out var byId))
        {
            byId.MarkStale();
        }
    }
}
