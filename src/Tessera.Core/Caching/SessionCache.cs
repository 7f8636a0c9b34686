using System.Collections.Concurrent;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Users;

namespace Tessera.Core.Caching;

/// <summary>
/// A user as this node last read it. Marked stale, never edited, when an invalidation names it. One copy is shared by
/// all the user's cached sessions. The password hash is not kept (a placeholder says whether there is one): nothing in
/// a check reads it, password checks read the store, and a node's memory is no place for it.
/// </summary>
public sealed class CachedUser
{
    /// <summary>What a cached user's <see cref="User.PasswordHash"/> holds when the user has a password.</summary>
    public const string PasswordWithheld = "(withheld: read the store)";

    private volatile bool _stale;

    public CachedUser(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        User = user.PasswordHash is null or PasswordWithheld ? user : user with { PasswordHash = PasswordWithheld };
    }

    public User User { get; }

    public bool IsStale => _stale;

    internal void MarkStale() => _stale = true;
}

/// <summary>
/// A session as this node last read it, with the in-memory last-active time that runs ahead of the store.
/// <para>A node holds up to a million of these (<c>Tessera:Sessions:CacheCapacity</c>), so an entry keeps the few fields a
/// check and the who-am-I answer read rather than its <see cref="Sessions.Session"/> record, shares its user, device and
/// address strings with other entries (<see cref="SessionCache"/> interns them) and takes its user id from its user:
/// about 130 bytes besides the id string (docs/performance.md, "Scale (issue 15)"). <see cref="Session"/> makes the record when something asks for it.</para>
/// </summary>
public sealed class CachedSession
{
    // The whole record, for a revoked session only: rare, and swept within a flush interval.
    private readonly Session? _revoked;
    private readonly DeviceInfo _device;
    private readonly string? _ipAddress;
    private readonly string? _clientId;
    private readonly long _createdAtTicks;
    private readonly long _absoluteExpiresAtTicks;
    private long _lastActiveTicks;
    private volatile bool _stale;

    public CachedSession(TokenKey key, Session session, CachedUser user, DateTimeOffset lastActiveAt)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(user);
        Id = session.Id;
        User = user;
        _revoked = session.IsRevoked ? session : null;
        _device = session.Device;
        _ipAddress = session.IpAddress;
        _clientId = session.ClientId;
        Key = key;
        _createdAtTicks = session.CreatedAt.UtcTicks;
        _absoluteExpiresAtTicks = session.AbsoluteExpiresAt.UtcTicks;
        _lastActiveTicks = lastActiveAt.UtcTicks;
    }

    public string Id { get; }

    /// <summary>The key of the token it was read for.</summary>
    public TokenKey Key { get; }

    public CachedUser User { get; }

    public bool IsRevoked => _revoked is not null;

    public RevocationReason? RevokeReason => _revoked?.RevokeReason;

    public DateTimeOffset AbsoluteExpiresAt => new(_absoluteExpiresAtTicks, TimeSpan.Zero);

    public DeviceInfo Device => _device;

    public string? IpAddress => _ipAddress;

    /// <summary>The service client the session was made through, or null for one made directly.</summary>
    public string? ClientId => _clientId;

    public DateTimeOffset CreatedAt => new(_createdAtTicks, TimeSpan.Zero);

    /// <summary>When the session ends if it stays unused from now on (as <see cref="Session.ExpiresAt"/>, from the in-memory last-active).</summary>
    public DateTimeOffset ExpiresAt(TimeSpan idleTimeout) => Session.EndOf(LastActiveAt, idleTimeout, AbsoluteExpiresAt);

    public DateTimeOffset LastActiveAt => new(Volatile.Read(ref _lastActiveTicks), TimeSpan.Zero);

    /// <summary>
    /// The session as a record, made on each read from what the entry keeps (its last-active time is the in-memory one);
    /// the check itself reads the fields above and allocates nothing. The entry does not keep the token's SHA-256 (no
    /// reader of a cached session needs it, and a million of them would cost 32 MB): the record's
    /// <see cref="Session.TokenHash"/> is empty, and finds nothing in the store.
    /// </summary>
    public Session Session => _revoked ?? new Session
    {
        Id = Id,
        TokenHash = default,
        UserId = User.User.Id,
        Device = _device,
        IpAddress = _ipAddress,
        ClientId = _clientId,
        CreatedAt = new DateTimeOffset(_createdAtTicks, TimeSpan.Zero),
        LastActiveAt = LastActiveAt,
        AbsoluteExpiresAt = AbsoluteExpiresAt,
    };

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
/// The node's in-memory copy of sessions and users: a hit is one dictionary lookup and no I/O. Entries are
/// dropped by invalidations, never by a TTL. A fill that raced with an invalidation is not kept (see
/// <see cref="Epoch"/>), so a stale read can answer the request that made it but can never stay cached.
/// <para>Sessions are held under their token's <see cref="TokenKey"/> (BLAKE3 of the secret, cheap on every check) and
/// indexed by session id for invalidations, which name sessions by id. The id index, the users and the interned
/// strings are only touched under the write lock, so they are plain dictionaries: a hit reads the key map alone.</para>
/// </summary>
public sealed class SessionCache : IInvalidationHandler
{
    // Distinct devices and strings (addresses, client ids) interned across entries; bounded, so that a flood of
    // distinct values costs only their own copies.
    private const int MaxInterned = 65_536;

    private readonly ConcurrentDictionary<TokenKey, CachedSession> _byKey = new();
    private readonly Dictionary<string, CachedSession> _bySessionId = new(StringComparer.Ordinal);
    private readonly Dictionary<DeviceInfo, DeviceInfo> _devices = [];
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
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

    public SessionCache(int capacity = Options.SessionOptions.DefaultCacheCapacity, TimeProvider? clock = null)
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
    public bool TryGet(TokenKey key, out CachedSession entry)
    {
        if (_trusted && WithinLease() && IsCurrent() && _byKey.TryGetValue(key, out entry!) && !entry.IsStale)
        {
            return true;
        }

        entry = null!;
        return false;
    }

    /// <summary>
    /// Makes the entry for a freshly read session and user, and keeps it under <paramref name="key"/> (the key of the
    /// token that was presented, never one made from the stored hash) when no invalidation ran since
    /// <paramref name="epochBeforeRead"/>. The entry is returned either way, to answer the request that read it.
    /// </summary>
    public CachedSession Add(TokenKey key, Session session, User user, DateTimeOffset lastActiveAt, long epochBeforeRead)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(user);

        // Fills and invalidations take one lock, so an invalidation either runs before a fill (which then sees the
        // epoch moved and keeps nothing) or after it (and removes what it put). Without it, a fill could insert a
        // copy read before a revocation just after the revocation returned. Hits never take the lock.
        lock (_writeLock)
        {
            var cachedUser = _users.TryGetValue(user.Id, out var existing) && !existing.IsStale && SameAccess(existing.User, user)
                ? existing
                : new CachedUser(user);
            if (!_trusted || Epoch != epochBeforeRead || Count >= _capacity)
            {
                return new CachedSession(key, session, cachedUser, lastActiveAt);
            }

            var entry = new CachedSession(key, Interned(session), cachedUser, lastActiveAt);

            // A user copy that leaves the map is marked stale, so that no session goes on trusting a copy that
            // invalidations can no longer reach. (A different copy here means the row changed without an
            // invalidation, a direct write to the store: the newer read wins.)
            if (_users.TryGetValue(user.Id, out var replaced) && !ReferenceEquals(replaced, cachedUser))
            {
                replaced.MarkStale();
            }

            _users[user.Id] = cachedUser;
            if (_byKey.TryGetValue(key, out var older))
            {
                // Two requests missed on the same token at once; keep the newer read.
                older.MarkStale();
                _byKey[key] = entry;
            }
            else if (_byKey.TryAdd(key, entry))
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
                if (_bySessionId.Remove(sessionId, out var entry))
                {
                    entry.MarkStale();
                    if (_byKey.TryRemove(entry.Key, out var byKey))
                    {
                        // A newer copy under the same key goes too: at worst it is read again.
                        byKey.MarkStale();
                        Interlocked.Decrement(ref _count);
                    }
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

    /// <summary>
    /// Drops entries that can no longer answer "valid": revoked, expired, or not seen for a long time. Looks without the
    /// write lock and removes under it, a batch at a time, so that fills and invalidations wait for a batch at most.
    /// </summary>
    public int Sweep(DateTimeOffset now, TimeSpan idleTimeout)
    {
        const int Batch = 4096;
        var removed = 0;
        var dead = new List<KeyValuePair<TokenKey, CachedSession>>();
        var referenced = new HashSet<CachedUser>(ReferenceEqualityComparer.Instance);
        foreach (var pair in _byKey)
        {
            var entry = pair.Value;
            if (entry.IsStale || entry.IsRevoked || now >= entry.AbsoluteExpiresAt || now >= entry.LastActiveAt + idleTimeout)
            {
                dead.Add(pair);
            }
            else
            {
                referenced.Add(entry.User);
            }
        }

        for (var start = 0; start < dead.Count; start += Batch)
        {
            lock (_writeLock)
            {
                foreach (var pair in dead.Skip(start).Take(Batch))
                {
                    // Only the entry seen dead: a newer one under the same key is left alone.
                    if (_byKey.TryRemove(pair))
                    {
                        pair.Value.MarkStale();
                        removed++;
                        if (_bySessionId.TryGetValue(pair.Value.Id, out var byId) && ReferenceEquals(byId, pair.Value))
                        {
                            _bySessionId.Remove(pair.Value.Id);
                        }
                    }
                }
            }
        }

        // Users no remaining session points at are dropped too; a later fill reads them again. (A user whose session was
        // added after the look above is dropped as well: its sessions then miss once and read it again.)
        lock (_writeLock)
        {
            foreach (var (id, user) in _users)
            {
                if ((user.IsStale || !referenced.Contains(user)) && _users.TryRemove(new KeyValuePair<string, CachedUser>(id, user)))
                {
                    user.MarkStale();
                }
            }

            // The counter is kept without locks and can drift under races; set it right once per sweep.
            Volatile.Write(ref _count, _byKey.Count);
        }

        return removed;
    }

    private void Clear()
    {
        foreach (var (_, entry) in _byKey)
        {
            entry.MarkStale();
        }

        foreach (var (_, user) in _users)
        {
            user.MarkStale();
        }

        _byKey.Clear();
        _bySessionId.Clear();
        _users.Clear();
        _devices.Clear();
        _strings.Clear();
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

    /// <summary>
    /// The session with its device and strings replaced by copies other entries already share (under the write lock).
    /// Most sessions come from a handful of browsers and apps, and a user's sessions often from one address.
    /// </summary>
    private Session Interned(Session session)
    {
        var device = session.Device;
        if (_devices.TryGetValue(device, out var sharedDevice))
        {
            device = sharedDevice;
        }
        else if (_devices.Count < MaxInterned)
        {
            device = device with { Name = Intern(device.Name), Os = Intern(device.Os), Browser = Intern(device.Browser), UserAgent = Intern(device.UserAgent) };
            _devices.Add(device, device);
        }

        var ipAddress = Intern(session.IpAddress);
        var clientId = Intern(session.ClientId);
        return ReferenceEquals(device, session.Device) && ReferenceEquals(ipAddress, session.IpAddress) && ReferenceEquals(clientId, session.ClientId)
            ? session
            : session with { Device = device, IpAddress = ipAddress, ClientId = clientId };
    }

    private string? Intern(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        if (_strings.Count < MaxInterned)
        {
            _strings.Add(value);
        }

        return value;
    }
}
