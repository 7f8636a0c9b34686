using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task An_inserted_session_is_found_by_token_hash_and_by_id_with_every_field()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var session = NewSession(user.Id, lastActiveAt: T0.AddMinutes(3), absoluteExpiresAt: T0.AddDays(30));
        var bare = NewSession(user.Id, device: new DeviceInfo(null, DevicePlatform.Api, null, null, null)) with { IpAddress = null };
        var revoked = NewSession(user.Id, device: new DeviceInfo("Pixel 8", DevicePlatform.Mobile, "Android 14", "Tessera app", "tessera-android/2.1")) with
        {
            RevokedAt = T0.AddMinutes(-10),
            RevokedBy = "usr_admin",
            RevokeReason = RevocationReason.RevokedByAdmin,
        };
        await InsertAsync(store, user);
        await InsertAsync(store, session, bare, revoked);

        await using var read = await store.BeginReadAsync(Ct);
        foreach (var expected in new[] { session, bare, revoked })
        {
            Assert.Equal(expected, await read.Sessions.FindByTokenHashAsync(expected.TokenHash, Ct));
            Assert.Equal(expected, await read.Sessions.FindByIdAsync(expected.Id, Ct));
        }
    }

    [Fact]
    public async Task Every_revocation_reason_and_platform_round_trips()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var sessions = Enum.GetValues<RevocationReason>()
            .Select((reason, i) => NewSession(
                user.Id,
                device: new DeviceInfo(null, Enum.GetValues<DevicePlatform>()[i % Enum.GetValues<DevicePlatform>().Length], null, null, null)) with
            {
                RevokedAt = T0,
                RevokedBy = "system",
                RevokeReason = reason,
            })
            .ToArray();

        await InsertAsync(store, sessions);

        foreach (var session in sessions)
        {
            Assert.Equal(session, await FindSessionAsync(store, session.Id));
        }
    }

    [Fact]
    public async Task An_unknown_token_hash_or_id_finds_no_session()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        await InsertAsync(store, NewSession(user.Id));
        SecretTokens.Create(out var unknownHash);

        await using var read = await store.BeginReadAsync(Ct);
        Assert.Null(await read.Sessions.FindByTokenHashAsync(unknownHash, Ct));
        Assert.Null(await read.Sessions.FindByIdAsync("ses_unknown", Ct));
    }

    [Fact]
    public async Task Listing_unrevoked_sessions_leaves_out_revoked_and_expired_ones_and_puts_the_latest_activity_first()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var other = NewUser();
        var older = NewSession(user.Id, lastActiveAt: T0.AddMinutes(-30));
        var latest = NewSession(user.Id, lastActiveAt: T0.AddMinutes(-1));
        var middle = NewSession(user.Id, lastActiveAt: T0.AddMinutes(-10));
        var endsInAMillisecond = NewSession(user.Id, lastActiveAt: T0.AddHours(-2), absoluteExpiresAt: T0.AddMilliseconds(1));
        var endsNow = NewSession(user.Id, lastActiveAt: T0.AddMinutes(-2), absoluteExpiresAt: T0);
        var revoked = NewSession(user.Id, lastActiveAt: T0) with
        {
            RevokedAt = T0.AddMinutes(-5),
            RevokedBy = user.Id,
            RevokeReason = RevocationReason.SignedOut,
        };
        var othersSession = NewSession(other.Id, lastActiveAt: T0);
        await InsertAsync(store, user, other);
        await InsertAsync(store, older, latest, middle, endsInAMillisecond, endsNow, revoked, othersSession);

        var listed = await ReadAsync(store, transaction => transaction.Sessions.ListUnrevokedAsync(user.Id, T0, Ct));

        Assert.Equal([latest.Id, middle.Id, older.Id, endsInAMillisecond.Id], listed.Select(s => s.Id));
        Assert.Equal(latest, listed[0]);
    }

    [Fact]
    public async Task Revoking_all_sessions_returns_exactly_the_ones_it_ended()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var other = NewUser();
        var first = NewSession(user.Id);
        var second = NewSession(user.Id);
        var expired = NewSession(user.Id, absoluteExpiresAt: T0.AddMinutes(-1));
        var othersSession = NewSession(other.Id);
        await InsertAsync(store, user, other);
        await InsertAsync(store, first, second, expired, othersSession);
        var revocation = new SessionRevocation(T0, "usr_admin", RevocationReason.UserBanned);

        IReadOnlyList<string> revoked = [];
        await WriteAsync(store, async transaction =>
            revoked = await transaction.Sessions.RevokeAsync(user.Id, RevocationScope.All, revocation, Ct));

        Assert.Equal(Sorted([first.Id, second.Id]), Sorted(revoked));
        foreach (var session in new[] { first, second })
        {
            Assert.Equal(
                session with { RevokedAt = T0, RevokedBy = "usr_admin", RevokeReason = RevocationReason.UserBanned },
                await FindSessionAsync(store, session.Id));
        }

        Assert.Equal(expired, await FindSessionAsync(store, expired.Id));
        Assert.Equal(othersSession, await FindSessionAsync(store, othersSession.Id));
    }

    [Fact]
    public async Task Revoking_all_sessions_of_many_users_at_once_ends_exactly_theirs_and_says_whose_each_was()
    {
        var store = await CreateStoreAsync();
        var (ada, bob, cy, other) = (NewUser(), NewUser(), NewUser(), NewUser());
        var adas = new[] { NewSession(ada.Id), NewSession(ada.Id), NewSession(ada.Id) };
        var bobs = NewSession(bob.Id);
        var alreadyRevoked = NewSession(bob.Id) with { RevokedAt = T0.AddMinutes(-5), RevokedBy = "usr_self", RevokeReason = RevocationReason.SignedOut };
        var expired = NewSession(cy.Id, absoluteExpiresAt: T0.AddMinutes(-1));
        var othersSession = NewSession(other.Id);
        await InsertAsync(store, ada, bob, cy, other);
        await InsertAsync(store, [.. adas, bobs, alreadyRevoked, expired, othersSession]);
        var revocation = new SessionRevocation(T0, "usr_admin", RevocationReason.UserDeactivated);

        IReadOnlyDictionary<string, IReadOnlyList<string>> revoked = null!;
        await WriteAsync(store, async transaction => revoked = await transaction.Sessions.RevokeAllOfUsersAsync(
            [ada.Id, bob.Id, cy.Id, "usr_nobody"], revocation, Ct));

        Assert.Equal(Sorted([ada.Id, bob.Id]), Sorted(revoked.Keys));
        Assert.Equal(Sorted(adas.Select(s => s.Id)), revoked[ada.Id]);
        Assert.Equal([bobs.Id], revoked[bob.Id]);
        foreach (var session in adas.Append(bobs))
        {
            Assert.Equal(
                session with { RevokedAt = T0, RevokedBy = "usr_admin", RevokeReason = RevocationReason.UserDeactivated },
                await FindSessionAsync(store, session.Id));
        }

        Assert.Equal(alreadyRevoked, await FindSessionAsync(store, alreadyRevoked.Id));
        Assert.Equal(expired, await FindSessionAsync(store, expired.Id));
        Assert.Equal(othersSession, await FindSessionAsync(store, othersSession.Id));

        // Nothing left to end: an empty answer, and no user at all is no statement at all.
        await WriteAsync(store, async transaction =>
        {
            Assert.Empty(await transaction.Sessions.RevokeAllOfUsersAsync([ada.Id, bob.Id], revocation, Ct));
            Assert.Empty(await transaction.Sessions.RevokeAllOfUsersAsync([], revocation, Ct));
        });
    }

    [Fact]
    public async Task Revoking_one_session_ends_only_that_session()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var kept = NewSession(user.Id);
        var ended = NewSession(user.Id);
        await InsertAsync(store, user);
        await InsertAsync(store, kept, ended);

        IReadOnlyList<string> revoked = [];
        await WriteAsync(store, async transaction => revoked = await transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.Only(ended.Id), new SessionRevocation(T0, user.Id, RevocationReason.SignedOut), Ct));

        Assert.Equal([ended.Id], revoked);
        Assert.Equal(RevocationReason.SignedOut, (await FindSessionAsync(store, ended.Id))!.RevokeReason);
        Assert.Equal(kept, await FindSessionAsync(store, kept.Id));
    }

    [Fact]
    public async Task Revoking_all_but_one_session_keeps_that_one()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var current = NewSession(user.Id);
        var laptop = NewSession(user.Id);
        var phone = NewSession(user.Id);
        await InsertAsync(store, user);
        await InsertAsync(store, current, laptop, phone);

        IReadOnlyList<string> revoked = [];
        await WriteAsync(store, async transaction => revoked = await transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.AllExcept(current.Id), new SessionRevocation(T0, user.Id, RevocationReason.SignedOutOtherDevices), Ct));

        Assert.Equal(Sorted([laptop.Id, phone.Id]), Sorted(revoked));
        Assert.Equal(current, await FindSessionAsync(store, current.Id));
        Assert.True((await FindSessionAsync(store, phone.Id))!.IsRevoked);
    }

    [Fact]
    public async Task Revoking_a_session_of_another_user_changes_nothing()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var other = NewUser();
        var othersSession = NewSession(other.Id);
        await InsertAsync(store, user, other);
        await InsertAsync(store, othersSession);

        IReadOnlyList<string> revoked = [];
        await WriteAsync(store, async transaction => revoked = await transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.Only(othersSession.Id), new SessionRevocation(T0, user.Id, RevocationReason.RevokedByUser), Ct));

        Assert.Empty(revoked);
        Assert.Equal(othersSession, await FindSessionAsync(store, othersSession.Id));
    }

    [Fact]
    public async Task Revoking_again_keeps_the_first_revocation_and_returns_nothing()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var session = NewSession(user.Id);
        await InsertAsync(store, user);
        await InsertAsync(store, session);
        await WriteAsync(store, transaction => transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.Only(session.Id), new SessionRevocation(T0, user.Id, RevocationReason.SignedOut), Ct));

        IReadOnlyList<string> revokedAgain = [];
        await WriteAsync(store, async transaction => revokedAgain = await transaction.Sessions.RevokeAsync(
            user.Id, RevocationScope.All, new SessionRevocation(T0.AddHours(1), "usr_admin", RevocationReason.UserDeleted), Ct));

        Assert.Empty(revokedAgain);
        Assert.Equal(
            session with { RevokedAt = T0, RevokedBy = user.Id, RevokeReason = RevocationReason.SignedOut },
            await FindSessionAsync(store, session.Id));
    }

    [Fact]
    public async Task Touching_moves_last_activity_forward_but_never_back()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var forward = NewSession(user.Id, lastActiveAt: T0);
        var backward = NewSession(user.Id, lastActiveAt: T0);
        var untouched = NewSession(user.Id, lastActiveAt: T0);
        await InsertAsync(store, user);
        await InsertAsync(store, forward, backward, untouched);

        await WriteAsync(store, transaction => transaction.Sessions.TouchAsync(
            [
                new SessionActivity(forward.Id, T0.AddMinutes(5)),
                new SessionActivity(backward.Id, T0.AddMinutes(-5)),
                new SessionActivity("ses_unknown", T0.AddMinutes(5)),
            ],
            Ct));

        Assert.Equal(T0.AddMinutes(5), (await FindSessionAsync(store, forward.Id))!.LastActiveAt);
        Assert.Equal(T0, (await FindSessionAsync(store, backward.Id))!.LastActiveAt);
        Assert.Equal(untouched, await FindSessionAsync(store, untouched.Id));
    }

    [Fact]
    public async Task Touching_a_revoked_session_changes_nothing()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        var revoked = NewSession(user.Id, lastActiveAt: T0) with
        {
            RevokedAt = T0,
            RevokedBy = user.Id,
            RevokeReason = RevocationReason.SignedOut,
        };
        await InsertAsync(store, user);
        await InsertAsync(store, revoked);

        await WriteAsync(store, transaction => transaction.Sessions.TouchAsync([new SessionActivity(revoked.Id, T0.AddMinutes(5))], Ct));

        Assert.Equal(revoked, await FindSessionAsync(store, revoked.Id));
    }

    [Fact]
    public async Task Touching_nothing_is_harmless()
    {
        var store = await CreateStoreAsync();

        await WriteAsync(store, transaction => transaction.Sessions.TouchAsync([], Ct));
    }

    [Fact]
    public async Task Purging_deletes_sessions_that_ended_before_the_cut_however_they_ended_and_keeps_the_rest()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var cut = T0.AddDays(-30);
        var idle = TimeSpan.FromDays(7);
        var revokedLongAgo = NewSession(user.Id) with { RevokedAt = cut.AddDays(-1), RevokedBy = "system", RevokeReason = RevocationReason.SignedOut };
        var pastItsEnd = NewSession(user.Id, lastActiveAt: cut.AddDays(-2), absoluteExpiresAt: cut.AddMinutes(-1));
        var idleLongAgo = NewSession(user.Id, lastActiveAt: cut - idle - TimeSpan.FromMinutes(1), absoluteExpiresAt: T0.AddDays(10));
        var revokedRecently = NewSession(user.Id) with { RevokedAt = cut.AddDays(1), RevokedBy = "system", RevokeReason = RevocationReason.SignedOut };
        var idleRecently = NewSession(user.Id, lastActiveAt: cut - idle + TimeSpan.FromMinutes(1), absoluteExpiresAt: T0.AddDays(10));
        var live = NewSession(user.Id, lastActiveAt: T0, absoluteExpiresAt: T0.AddDays(10));
        await InsertAsync(store, revokedLongAgo, pastItsEnd, idleLongAgo, revokedRecently, idleRecently, live);

        var deleted = await ReadWriteAsync(store, t => t.Sessions.PurgeEndedAsync(cut, idle, 100, Ct));

        Assert.Equal(3, deleted);
        foreach (var gone in new[] { revokedLongAgo, pastItsEnd, idleLongAgo })
        {
            Assert.Null(await FindSessionAsync(store, gone.Id));
        }

        foreach (var kept in new[] { revokedRecently, idleRecently, live })
        {
            Assert.Equal(kept, await FindSessionAsync(store, kept.Id));
        }
    }

    [Fact]
    public async Task Purging_deletes_no_more_than_its_limit_per_call()
    {
        var store = await CreateStoreAsync();
        var user = NewUser();
        await InsertAsync(store, user);
        var ended = Enumerable.Range(0, 5)
            .Select(_ => NewSession(user.Id) with { RevokedAt = T0.AddDays(-60), RevokedBy = "system", RevokeReason = RevocationReason.SignedOut })
            .ToArray();
        await InsertAsync(store, ended);

        Assert.Equal(2, await ReadWriteAsync(store, t => t.Sessions.PurgeEndedAsync(T0, TimeSpan.FromDays(7), 2, Ct)));
        Assert.Equal(2, await ReadWriteAsync(store, t => t.Sessions.PurgeEndedAsync(T0, TimeSpan.FromDays(7), 2, Ct)));
        Assert.Equal(1, await ReadWriteAsync(store, t => t.Sessions.PurgeEndedAsync(T0, TimeSpan.FromDays(7), 2, Ct)));
        Assert.Equal(0, await ReadWriteAsync(store, t => t.Sessions.PurgeEndedAsync(T0, TimeSpan.FromDays(7), 2, Ct)));
    }

    private static async Task<T> ReadWriteAsync<T>(ITesseraStore store, Func<IStoreTransaction, Task<T>> write)
    {
        await using var transaction = await store.BeginWriteAsync(Ct);
        var result = await write(transaction);
        await transaction.CommitAsync(Ct);
        return result;
    }
}
