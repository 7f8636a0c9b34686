using Tessera.Core.Audit;
using Tessera.Core.Storage;
using Xunit;

namespace Tessera.Storage.Specification;

public abstract partial class StoreSpecification
{
    [Fact]
    public async Task Appended_audit_events_come_back_with_every_field_and_their_session_ids()
    {
        var store = await CreateStoreAsync();
        var full = NewEvent(AuditActions.UserBanned, new Actor(ActorKind.Admin, "usr_admin"), "usr_target", T0, ["ses_1", "ses_2", "ses_3"]) with
        {
            Reason = "Sent spam to every user",
            IpAddress = "2001:db8::7",
        };
        var bare = NewEvent(AuditActions.LoginFailed, Actor.System, targetUserId: null, T0.AddSeconds(-1));
        var fromCli = NewEvent(AuditActions.UserDeleted, new Actor(ActorKind.Cli, "usr_admin"), "usr_target", T0.AddSeconds(-2), ["ses_9"]);

        await AppendAsync(store, full, bare, fromCli);

        var events = await QueryAuditAsync(store, new AuditQuery(null, null, null, null, 10));
        Assert.Equal(3, events.Count);
        AssertSameEvent(full, events[0]);
        AssertSameEvent(bare, events[1]);
        AssertSameEvent(fromCli, events[2]);
        Assert.Empty(events[1].SessionIds);
    }

    [Fact]
    public async Task Events_appended_many_at_once_are_the_same_rows_as_one_by_one_past_one_statement()
    {
        var store = await CreateStoreAsync();
        // More than one multi-row INSERT's worth (200), every field used, some in one millisecond, some with no sessions.
        var events = Enumerable.Range(0, 450).Select(i =>
            NewEvent(i % 3 == 0 ? AuditActions.SessionRevoked : AuditActions.UserDeactivated, new Actor(ActorKind.Cli, "usr_admin"), $"usr_{i:D4}",
                T0.AddMilliseconds(-(i / 7)), i % 2 == 0 ? [$"ses_{i}a", $"ses_{i}b"] : []) with
            {
                Reason = i % 5 == 0 ? null : $"reason {i}",
                IpAddress = i % 4 == 0 ? null : "192.0.2.7",
            }).ToList();

        await WriteAsync(store, transaction => transaction.Audit.AppendManyAsync(events, Ct));
        await WriteAsync(store, transaction => transaction.Audit.AppendManyAsync([], Ct));

        var read = await QueryAuditAsync(store, new AuditQuery(null, null, null, null, 1000));
        Assert.Equal(events.Count, read.Count);
        foreach (var (expected, actual) in events.OrderByDescending(e => e.At).ThenByDescending(e => e.Id, StringComparer.Ordinal).Zip(read))
        {
            AssertSameEvent(expected, actual);
        }
    }

    [Fact]
    public async Task Querying_the_audit_log_by_user_finds_events_about_them_and_events_by_them()
    {
        var store = await CreateStoreAsync();
        const string user = "usr_ada";
        var aboutThem = NewEvent(AuditActions.UserBanned, new Actor(ActorKind.Admin, "usr_admin"), user, T0);
        var byThem = NewEvent(AuditActions.SessionRevoked, new Actor(ActorKind.Admin, user), "usr_grace", T0.AddSeconds(1));
        var both = NewEvent(AuditActions.PasswordChanged, new Actor(ActorKind.User, user), user, T0.AddSeconds(2));
        var unrelated = NewEvent(AuditActions.UserBanned, new Actor(ActorKind.Admin, "usr_admin"), "usr_grace", T0.AddSeconds(3));

        await AppendAsync(store, aboutThem, byThem, both, unrelated);

        var events = await QueryAuditAsync(store, new AuditQuery(user, null, null, null, 10));
        Assert.Equal([both.Id, byThem.Id, aboutThem.Id], events.Select(e => e.Id));
    }

    [Fact]
    public async Task Querying_the_audit_log_by_action_matches_it_exactly()
    {
        var store = await CreateStoreAsync();
        var banned = NewEvent(AuditActions.UserBanned, Actor.System, "usr_1", T0);
        var unbanned = NewEvent(AuditActions.UserUnbanned, Actor.System, "usr_1", T0.AddSeconds(1));
        var bannedAgain = NewEvent(AuditActions.UserBanned, Actor.System, "usr_2", T0.AddSeconds(2));

        await AppendAsync(store, banned, unbanned, bannedAgain);

        Assert.Equal(
            [bannedAgain.Id, banned.Id],
            (await QueryAuditAsync(store, new AuditQuery(null, AuditActions.UserBanned, null, null, 10))).Select(e => e.Id));
        Assert.Equal(
            [banned.Id],
            (await QueryAuditAsync(store, new AuditQuery("usr_1", AuditActions.UserBanned, null, null, 10))).Select(e => e.Id));
        Assert.Empty(await QueryAuditAsync(store, new AuditQuery(null, "user.", null, null, 10)));
    }

    [Fact]
    public async Task Audit_time_bounds_leave_out_events_exactly_at_them()
    {
        var store = await CreateStoreAsync();
        var events = Enumerable.Range(0, 5)
            .Select(i => NewEvent(AuditActions.SessionCreated, Actor.System, "usr_1", T0.AddSeconds(i)))
            .ToArray();
        await AppendAsync(store, events);

        Assert.Equal(
            [events[3].Id, events[2].Id],
            (await QueryAuditAsync(store, new AuditQuery(null, null, After: T0.AddSeconds(1), Before: T0.AddSeconds(4), 10))).Select(e => e.Id));
        Assert.Equal(
            [events[4].Id],
            (await QueryAuditAsync(store, new AuditQuery(null, null, After: T0.AddSeconds(3), null, 10))).Select(e => e.Id));
        Assert.Equal(
            [events[0].Id],
            (await QueryAuditAsync(store, new AuditQuery(null, null, null, Before: T0.AddSeconds(1), 10))).Select(e => e.Id));
    }

    [Fact]
    public async Task The_audit_log_returns_the_newest_events_first_up_to_the_limit()
    {
        var store = await CreateStoreAsync();
        var oldest = NewEvent(AuditActions.UserRegistered, Actor.System, "usr_1", T0);
        var middle = NewEvent(AuditActions.SessionCreated, Actor.System, "usr_1", T0.AddSeconds(1));
        // Two events in the same millisecond: the larger id counts as the newer.
        var twins = new[]
            {
                NewEvent(AuditActions.SessionRevoked, Actor.System, "usr_1", T0.AddSeconds(2)),
                NewEvent(AuditActions.UserDeactivated, Actor.System, "usr_1", T0.AddSeconds(2)),
            }
            .OrderByDescending(e => e.Id, StringComparer.Ordinal)
            .ToArray();
        await AppendAsync(store, middle, twins[1], oldest, twins[0]);

        var newest = await QueryAuditAsync(store, new AuditQuery(null, null, null, null, 3));
        var all = await QueryAuditAsync(store, new AuditQuery(null, null, null, null, 100));

        Assert.Equal([twins[0].Id, twins[1].Id, middle.Id], newest.Select(e => e.Id));
        Assert.Equal([twins[0].Id, twins[1].Id, middle.Id, oldest.Id], all.Select(e => e.Id));
    }
}
