using System.Collections.Concurrent;
using System.Diagnostics;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Core.Tests.Caching;

[Collection(nameof(RunsAlone))]
public sealed class SessionCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(30);

    private readonly SessionCache _cache = new();

    [Fact]
    public void A_session_added_is_found_by_its_token_key()
    {
        var user = NewUser("usr_a");
        var session = NewSession("ses_a1", user);

        var added = _cache.Add(KeyOf(session), session, user, Now, _cache.Epoch);

        Assert.True(_cache.TryGet(KeyOf(session), out var found));
        Assert.Same(added, found);
        Assert.Equal(session with { TokenHash = default }, found.Session);
        Assert.Equal(user with { PasswordHash = CachedUser.PasswordWithheld }, found.User.User);
        Assert.Equal(Now, found.LastActiveAt);
        Assert.Equal(1, _cache.Count);
    }

    [Fact]
    public void A_token_never_added_is_a_miss()
    {
        Assert.True(SecretTokens.TryKey(SecretTokens.Create(out _), out var unknown));

        Assert.False(_cache.TryGet(unknown, out _));
    }

    [Fact]
    public void Sessions_share_one_copy_of_their_user_device_and_address_and_the_cache_keeps_no_password_hash()
    {
        // As two store reads give them: equal values, distinct objects.
        var a = NewUser("usr_a");
        var device = new DeviceInfo("Chrome on Windows", DevicePlatform.Web, "Windows 10", "Chrome 131", "Mozilla/5.0 (Windows NT 10.0)");
        var a1 = NewSession("ses_a1", a) with { Device = device, IpAddress = new string("203.0.113.7") };
        var a2 = NewSession("ses_a2", a) with { Device = device with { }, IpAddress = new string("203.0.113.7") };

        var first = _cache.Add(KeyOf(a1), a1, a, Now, _cache.Epoch);
        var second = _cache.Add(KeyOf(a2), a2, a with { }, Now, _cache.Epoch);

        Assert.Same(first.User, second.User);
        Assert.Same(first.Session.Device, second.Session.Device);
        Assert.Same(first.Session.IpAddress, second.Session.IpAddress);
        Assert.Equal(CachedUser.PasswordWithheld, second.User.User.PasswordHash);
        Assert.Equal(a with { PasswordHash = CachedUser.PasswordWithheld }, second.User.User);
    }

    [Fact]
    public void Invalidating_a_session_drops_that_entry_and_no_other()
    {
        var (a, b) = (NewUser("usr_a"), NewUser("usr_b"));
        var (a1, a2, b1) = (NewSession("ses_a1", a), NewSession("ses_a2", a), NewSession("ses_b1", b));
        foreach (var (session, user) in new[] { (a1, a), (a2, a), (b1, b) })
        {
            _cache.Add(KeyOf(session), session, user, Now, _cache.Epoch);
        }

        _cache.Handle(Invalidation.ForSessions(a.Id, [a1.Id], RevocationReason.RevokedByUser));

        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        Assert.True(_cache.TryGet(KeyOf(a2), out _));
        Assert.True(_cache.TryGet(KeyOf(b1), out _));
    }

    [Fact]
    public void A_change_to_a_user_makes_every_cached_session_of_that_user_miss()
    {
        var (a, b) = (NewUser("usr_a"), NewUser("usr_b"));
        var (a1, a2, b1) = (NewSession("ses_a1", a), NewSession("ses_a2", a), NewSession("ses_b1", b));
        var entryA1 = _cache.Add(KeyOf(a1), a1, a, Now, _cache.Epoch);
        var entryA2 = _cache.Add(KeyOf(a2), a2, a, Now, _cache.Epoch);
        _cache.Add(KeyOf(b1), b1, b, Now, _cache.Epoch);

        _cache.Handle(Invalidation.ForUser(a.Id, [], reason: null));

        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        Assert.False(_cache.TryGet(KeyOf(a2), out _));
        Assert.True(entryA1.IsStale);
        Assert.True(entryA2.IsStale);
        Assert.True(_cache.TryGet(KeyOf(b1), out _));
    }

    [Fact]
    public void Once_a_user_change_has_dropped_a_session_a_fresh_read_is_kept_again()
    {
        var a = NewUser("usr_a");
        var a1 = NewSession("ses_a1", a);
        _cache.Add(KeyOf(a1), a1, a, Now, _cache.Epoch);
        _cache.Handle(Invalidation.ForUser(a.Id, [], reason: null));

        var banned = a with { Banned = true, SecurityVersion = a.SecurityVersion + 1 };
        _cache.Add(KeyOf(a1), a1, banned, Now, _cache.Epoch);

        Assert.True(_cache.TryGet(KeyOf(a1), out var found));
        Assert.True(found.User.User.Banned);
    }

    [Fact]
    public void A_fill_read_before_an_invalidation_answers_its_request_but_is_not_kept()
    {
        var (a, b) = (NewUser("usr_a"), NewUser("usr_b"));
        var a1 = NewSession("ses_a1", a);
        var epochBeforeRead = _cache.Epoch;

        // Any invalidation, even of another user, may have raced with the read.
        _cache.Handle(Invalidation.ForUser(b.Id, [], reason: null));
        var entry = _cache.Add(KeyOf(a1), a1, a, Now, epochBeforeRead);

        Assert.NotNull(entry);
        Assert.Equal(a1 with { TokenHash = default }, entry.Session);
        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public void A_newer_read_of_a_user_replaces_the_cached_user_for_every_session()
    {
        // A user row changed without an invalidation (someone wrote to the store directly): the newer read wins.
        var a = NewUser("usr_a");
        var (a1, a2) = (NewSession("ses_a1", a), NewSession("ses_a2", a));
        var older = _cache.Add(KeyOf(a1), a1, a, Now, _cache.Epoch);

        _cache.Add(KeyOf(a2), a2, a with { Status = UserStatus.Deactivated, SecurityVersion = a.SecurityVersion + 1 }, Now, _cache.Epoch);

        Assert.True(older.IsStale);
        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        Assert.True(_cache.TryGet(KeyOf(a2), out var newer));
        Assert.Equal(UserStatus.Deactivated, newer.User.User.Status);
    }

    [Fact]
    public void A_distrusted_cache_serves_nothing_and_keeps_nothing_until_trusted_again()
    {
        var a = NewUser("usr_a");
        var (a1, a2) = (NewSession("ses_a1", a), NewSession("ses_a2", a));
        _cache.Add(KeyOf(a1), a1, a, Now, _cache.Epoch);

        _cache.Distrust();

        Assert.False(_cache.IsTrusted);
        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        var answered = _cache.Add(KeyOf(a2), a2, a, Now, _cache.Epoch);
        Assert.Equal(a2 with { TokenHash = default }, answered.Session);
        Assert.False(_cache.TryGet(KeyOf(a2), out _));
        Assert.Equal(0, _cache.Count);

        _cache.Trust();

        Assert.True(_cache.IsTrusted);
        Assert.False(_cache.TryGet(KeyOf(a1), out _));
        _cache.Add(KeyOf(a2), a2, a, Now, _cache.Epoch);
        Assert.True(_cache.TryGet(KeyOf(a2), out _));
    }

    [Fact]
    public void Under_leases_the_cache_answers_until_the_earliest_deadline_and_renewals_only_move_forward()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var cache = new SessionCache(clock: clock);
        var a = NewUser("usr_a");
        var a1 = NewSession("ses_a1", a);
        cache.Add(KeyOf(a1), a1, a, Now, cache.Epoch);
        var second = clock.TimestampFrequency;

        cache.RenewLease("bus", clock.GetTimestamp() + (3 * second));
        cache.RenewLease("other", clock.GetTimestamp() + (1 * second));
        cache.RenewLease("bus", clock.GetTimestamp() + (2 * second));
        Assert.True(cache.TryGet(KeyOf(a1), out _));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(KeyOf(a1), out _));
        Assert.True(cache.IsTrusted, "a lease that ran out is not a distrust: the entries stay for the next renewal");

        cache.RenewLease("other", clock.GetTimestamp() + (5 * second));
        Assert.True(cache.TryGet(KeyOf(a1), out _), "the earliest deadline is now the bus's, 3 s after the start");
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cache.TryGet(KeyOf(a1), out _));
    }

    [Fact]
    public void A_fill_that_started_while_distrusted_is_not_kept_after_trust_returns()
    {
        var a = NewUser("usr_a");
        var a1 = NewSession("ses_a1", a);
        _cache.Distrust();
        var epochBeforeRead = _cache.Epoch;

        _cache.Trust();
        _cache.Add(KeyOf(a1), a1, a, Now, epochBeforeRead);

        Assert.False(_cache.TryGet(KeyOf(a1), out _));
    }

    [Fact]
    public void Sweep_drops_revoked_and_expired_entries_and_keeps_the_live_ones()
    {
        var a = NewUser("usr_a");
        var live = NewSession("ses_live", a);
        var revoked = NewSession("ses_revoked", a) with { RevokedAt = Now, RevokedBy = a.Id, RevokeReason = RevocationReason.SignedOut };
        var pastAbsolute = NewSession("ses_absolute", a) with { AbsoluteExpiresAt = Now };
        var idle = NewSession("ses_idle", a);
        _cache.Add(KeyOf(live), live, a, Now, _cache.Epoch);
        _cache.Add(KeyOf(revoked), revoked, a, Now, _cache.Epoch);
        _cache.Add(KeyOf(pastAbsolute), pastAbsolute, a, Now, _cache.Epoch);
        _cache.Add(KeyOf(idle), idle, a, Now - Idle, _cache.Epoch);

        var removed = _cache.Sweep(Now, Idle);

        Assert.Equal(3, removed);
        Assert.Equal(1, _cache.Count);
        Assert.True(_cache.TryGet(KeyOf(live), out _));
        Assert.False(_cache.TryGet(KeyOf(revoked), out _));
        Assert.False(_cache.TryGet(KeyOf(pastAbsolute), out _));
        Assert.False(_cache.TryGet(KeyOf(idle), out _));
    }

    [Fact]
    public void A_full_cache_still_answers_but_keeps_no_more_entries()
    {
        var cache = new SessionCache(capacity: 2);
        var a = NewUser("usr_a");
        var sessions = Enumerable.Range(0, 3).Select(i => NewSession($"ses_{i}", a)).ToList();

        var entries = sessions.ConvertAll(s => cache.Add(KeyOf(s), s, a, Now, cache.Epoch));

        Assert.All(entries, Assert.NotNull);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet(KeyOf(sessions[2]), out _));
    }

    [Fact]
    public void After_a_session_invalidation_returns_no_copy_read_before_it_is_served_under_concurrent_fills()
    {
        var outcome = Race(
            revokeSessions: true,
            servedStale: entry => !entry.Session.IsRevoked);

        Assert.True(outcome.Violations.IsEmpty, Describe(outcome));
    }

    [Fact]
    public void After_a_user_invalidation_returns_no_copy_of_the_old_user_is_served_under_concurrent_fills()
    {
        var outcome = Race(
            revokeSessions: false,
            servedStale: entry => !entry.User.User.Banned);

        Assert.True(outcome.Violations.IsEmpty, Describe(outcome));
    }

    private static string Describe(RaceOutcome outcome) =>
        $"{outcome.Violations.Count} stale hits after the invalidation returned, in {outcome.Iterations} rounds; first: "
        + string.Join(" | ", outcome.Violations.Distinct().Take(5));

    private sealed record RaceOutcome(int Iterations, ConcurrentQueue<string> Violations);

    /// <summary>
    /// Fillers read "the store" (after reading the epoch, as the validator does), add what they read and look sessions
    /// up, while another thread commits a change to the store and then publishes its invalidation, as
    /// <c>AccessChanges</c> does. Once the invalidation has returned, no lookup may hit a copy read before the commit.
    /// The threads live for the whole run and meet at a barrier between rounds; each round has a fresh cache.
    /// </summary>
    private static RaceOutcome Race(bool revokeSessions, Func<CachedSession, bool> servedStale)
    {
        // At least MinRounds whatever the machine's load (a busy machine once ran fewer within the time budget and the
        // test failed for it), then more while the budget lasts.
        const int MinRounds = 200;
        const int MaxRounds = 3000;
        const int Fillers = 2;
        var budget = Stopwatch.StartNew();
        var violations = new ConcurrentQueue<string>();
        var rounds = 0;
        Round? round = null;

        void Check(Round r, string who)
        {
            foreach (var target in r.Store.Targets)
            {
                if (r.Cache.TryGet(KeyOf(target), out var entry) && servedStale(entry))
                {
                    violations.Enqueue($"{who} saw {entry.Session.Id}");
                }
            }
        }

        // Runs on one thread while all the others wait: ends a round and starts the next.
        void BetweenRounds()
        {
            if (round is { } ended)
            {
                // Every fill has finished: a copy still served now stays served until something else evicts it.
                Check(ended, "a lookup after every fill had finished");

                // The other user's session is not touched by the invalidation and is still served from memory.
                var (bystander, bystanderUser) = ended.Store.Read(ended.Store.Targets.Length);
                ended.Cache.Add(KeyOf(bystander), bystander, bystanderUser, Now, ended.Cache.Epoch);
                if (!ended.Cache.TryGet(KeyOf(bystander), out _))
                {
                    violations.Enqueue("the other user's session was dropped");
                }

                rounds++;
            }

            var more = rounds < MinRounds || (rounds < MaxRounds && budget.Elapsed < TimeSpan.FromSeconds(8));
            round = more && violations.IsEmpty
                ? new Round(new SessionCache(), new RaceStore(), rounds)
                : null;
        }

        using var barrier = new Barrier(Fillers + 1, _ => BetweenRounds());
        var threads = new List<Thread>();
        for (var f = 0; f < Fillers; f++)
        {
            var filler = f;
            threads.Add(new Thread(() =>
            {
                while (true)
                {
                    barrier.SignalAndWait();
                    if (round is not { } r)
                    {
                        return;
                    }

                    var random = new Random((r.Number * 31) + filler);
                    while (Volatile.Read(ref r.Stop) == 0)
                    {
                        var i = random.Next(r.Store.Targets.Length + 1);
                        var epoch = r.Cache.Epoch;
                        var (session, user) = r.Store.Read(i);
                        r.Cache.Add(KeyOf(session), session, user, Now, epoch);

                        // The flag is read before looking up: a hit seen with it set happened after Handle returned.
                        if (Volatile.Read(ref r.Invalidated) == 1)
                        {
                            Check(r, "a filler");
                        }
                    }
                }
            }));
        }

        threads.Add(new Thread(() =>
        {
            var random = new Random(7);
            while (true)
            {
                barrier.SignalAndWait();
                if (round is not { } r)
                {
                    return;
                }

                Thread.SpinWait(random.Next(20, 1500));
                r.Cache.Handle(revokeSessions ? r.Store.RevokeTargets() : r.Store.BanUser());
                Volatile.Write(ref r.Invalidated, 1);
                Check(r, "the invalidating thread");
                Thread.SpinWait(1000);
                Volatile.Write(ref r.Stop, 1);
            }
        }));

        // The first barrier phase starts round 0.
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return new RaceOutcome(rounds, violations);
    }

    private sealed class Round(SessionCache cache, RaceStore store, int number)
    {
        public SessionCache Cache { get; } = cache;

        public RaceStore Store { get; } = store;

        public int Number { get; } = number;

#pragma warning disable CA1051 // Fields, so that the threads can use Volatile on them.
        public int Invalidated;
        public int Stop;
#pragma warning restore CA1051
    }

    /// <summary>A tiny stand-in for the store: four sessions of one user and one of another, changed atomically.</summary>
    private sealed class RaceStore
    {
        private readonly User _other = NewUser("usr_other");
        private readonly Session _bystander;
        private volatile State _state;

        public RaceStore()
        {
            var user = NewUser("usr_target");
            Targets = Enumerable.Range(0, 4).Select(i => NewSession($"ses_target_{i}", user)).ToArray();
            _bystander = NewSession("ses_bystander", _other);
            _state = new State(user, Targets);
        }

        public Session[] Targets { get; }

        public (Session Session, User User) Read(int index)
        {
            var state = _state;
            return index < Targets.Length ? (state.Sessions[index], state.User) : (_bystander, _other);
        }

        public Invalidation RevokeTargets()
        {
            var state = _state;
            var revoked = state.Sessions
                .Select(s => s with { RevokedAt = Now, RevokedBy = "admin", RevokeReason = RevocationReason.RevokedByAdmin })
                .ToArray();
            _state = state with { Sessions = revoked };
            return Invalidation.ForSessions(state.User.Id, revoked.Select(s => s.Id).ToList(), RevocationReason.RevokedByAdmin);
        }

        public Invalidation BanUser()
        {
            var state = _state;
            _state = state with { User = state.User with { Banned = true, SecurityVersion = state.User.SecurityVersion + 1 } };
            return Invalidation.ForUser(state.User.Id, [], reason: null);
        }

        private sealed record State(User User, Session[] Sessions);
    }

    private static User NewUser(string id) => new()
    {
        Id = id,
        Email = $"{id}@example.com",
        DisplayName = id,
        PasswordHash = "x",
        SecurityVersion = 1,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    // The cache key of each test session's token (the cache is keyed by the token, which a session does not keep).
    private static readonly ConcurrentDictionary<TokenHash, TokenKey> Keys = new();

    private static TokenKey KeyOf(Session session) => Keys[session.TokenHash];

    private static Session NewSession(string id, User user)
    {
        var token = SecretTokens.Create(out var tokenHash);
        Assert.True(SecretTokens.TryKey(token, out var key));
        Keys[tokenHash] = key;
        return new Session
        {
            Id = id,
            TokenHash = tokenHash,
            UserId = user.Id,
            Device = new DeviceInfo("Test", DevicePlatform.Api, null, null, null),
            CreatedAt = Now,
            LastActiveAt = Now,
            AbsoluteExpiresAt = Now + TimeSpan.FromHours(3),
        };
    }
}
