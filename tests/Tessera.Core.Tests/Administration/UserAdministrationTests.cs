using Tessera.Core.Accounts;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Core.Users;
using Xunit;

namespace Tessera.Core.Tests.Administration;

/// <summary>The admin's decisions where time matters (timed bans) or where one call carries many answers (bulk).</summary>
public sealed class UserAdministrationTests : IAsyncLifetime
{
    private CoreHarness _tessera = null!;
    private Actor _admin = null!;
    private User _adminUser = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _tessera = await CoreHarness.StartAsync(cancellationToken: Ct);
        (_adminUser, _admin) = await _tessera.CreateAdminAsync(cancellationToken: Ct);
    }

    public ValueTask DisposeAsync() => _tessera.DisposeAsync();

    [Fact]
    public async Task A_ban_with_an_end_keeps_the_user_out_until_the_end_and_lets_them_sign_in_after_it()
    {
        var ada = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var before = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        Assert.True((await _tessera.Validator.CheckAsync(before.Token, Ct)).Holds);
        var until = _tessera.Clock.GetUtcNow() + TimeSpan.FromHours(1);

        var banned = await _tessera.Admin.BanAsync(_admin, ada.Id, "spam", until, "192.0.2.9", Ct);

        Assert.Equal(1, banned.RevokedSessions);
        var during = await _tessera.Validator.CheckAsync(before.Token, Ct);
        Assert.Equal(SessionVerdictKind.AccountBanned, during.Verdict.Kind);
        Assert.Equal(until, during.Verdict.BannedUntil);
        var refused = await Assert.ThrowsAsync<TesseraException>(() => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));
        Assert.Equal(ErrorCodes.AccountBanned, refused.Code);
        Assert.Equal(until, refused.Details["bannedUntil"]);

        _tessera.Clock.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<TesseraException>(() => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));

        _tessera.Clock.Advance(TimeSpan.FromSeconds(1));
        var after = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);

        Assert.True((await _tessera.Validator.CheckAsync(after.Token, Ct)).Holds);
        var old = await _tessera.Validator.CheckAsync(before.Token, Ct);
        Assert.Equal(SessionVerdictKind.Revoked, old.Verdict.Kind);
        Assert.Equal(RevocationReason.UserBanned, old.Verdict.Reason);
    }

    [Fact]
    public async Task A_ban_must_end_in_the_future()
    {
        var ada = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<TesseraException>(
            () => _tessera.Admin.BanAsync(_admin, ada.Id, null, _tessera.Clock.GetUtcNow(), null, Ct));

        Assert.Equal(ErrorCodes.ValidationFailed, refused.Code);
    }

    [Fact]
    public async Task A_bulk_action_answers_for_each_user_and_does_what_it_can()
    {
        var ada = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var bob = await _tessera.RegisterAsync("bob@example.com", cancellationToken: Ct);
        var gone = await _tessera.RegisterAsync("gone@example.com", cancellationToken: Ct);
        await _tessera.Admin.DeleteAsync(_admin, gone.Id, null, Ct);
        var adaSession = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        var bobSessions = new[]
        {
            await _tessera.LoginAsync("bob@example.com", cancellationToken: Ct),
            await _tessera.LoginAsync("bob@example.com", cancellationToken: Ct),
        };
        var adminSession = await _tessera.LoginAsync(_adminUser.Email, cancellationToken: Ct);

        var results = await _tessera.Admin.BulkAsync(
            _admin, BulkAction.Deactivate, [ada.Id, _adminUser.Id, "usr_nobody", gone.Id, bob.Id, ada.Id], "cleanup", until: null, "192.0.2.9", Ct);

        Assert.Equal(
            [
                new BulkResult(ada.Id, true, 1, null),
                new BulkResult(_adminUser.Id, false, 0, ErrorCodes.CannotTargetSelf),
                new BulkResult("usr_nobody", false, 0, ErrorCodes.NotFound),
                new BulkResult(gone.Id, false, 0, ErrorCodes.UserDeleted),
                new BulkResult(bob.Id, true, 2, null),
            ],
            results);
        Assert.Equal(SessionVerdictKind.AccountDeactivated, (await _tessera.Validator.CheckAsync(adaSession.Token, Ct)).Verdict.Kind);
        foreach (var session in bobSessions)
        {
            Assert.Equal(SessionVerdictKind.AccountDeactivated, (await _tessera.Validator.CheckAsync(session.Token, Ct)).Verdict.Kind);
        }

        Assert.True((await _tessera.Validator.CheckAsync(adminSession.Token, Ct)).Holds);
    }

    [Fact]
    public async Task A_bulk_unban_lets_every_named_user_sign_in_on_the_very_next_attempt()
    {
        var ada = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var bob = await _tessera.RegisterAsync("bob@example.com", cancellationToken: Ct);
        await _tessera.Admin.BulkAsync(_admin, BulkAction.Ban, [ada.Id, bob.Id], null, until: null, null, Ct);
        await Assert.ThrowsAsync<TesseraException>(() => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));

        var results = await _tessera.Admin.BulkAsync(_admin, BulkAction.Unban, [ada.Id, bob.Id], null, until: null, null, Ct);

        Assert.All(results, r => Assert.True(r.Ok));
        await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        await _tessera.LoginAsync("bob@example.com", cancellationToken: Ct);
    }

    [Fact]
    public async Task Batches_with_a_refused_user_in_the_middle_do_the_others_and_audit_each_user_as_one_change_would()
    {
        // Batches of two: [ada, admin (self)], [nobody, bob], [gone (deleted), cy]: a refusal in every batch.
        var ada = await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var bob = await _tessera.RegisterAsync("bob@example.com", cancellationToken: Ct);
        var cy = await _tessera.RegisterAsync("cy@example.com", cancellationToken: Ct);
        var gone = await _tessera.RegisterAsync("gone@example.com", cancellationToken: Ct);
        await _tessera.Admin.DeleteAsync(_admin, gone.Id, null, Ct);
        var sessions = new Dictionary<string, List<LoginResult>>();
        foreach (var (user, count) in new[] { (ada, 2), (bob, 1), (cy, 0) })
        {
            sessions[user.Id] = [];
            for (var i = 0; i < count; i++)
            {
                sessions[user.Id].Add(await _tessera.LoginAsync(user.Email, cancellationToken: Ct));
            }
        }

        var results = await _tessera.Admin.BulkAsync(
            _admin, BulkAction.Ban, [ada.Id, _adminUser.Id, "usr_nobody", bob.Id, gone.Id, cy.Id], "raid", until: null, "192.0.2.9", batchSize: 2, Ct);

        Assert.Equal(
            [
                new BulkResult(ada.Id, true, 2, null),
                new BulkResult(_adminUser.Id, false, 0, ErrorCodes.CannotTargetSelf),
                new BulkResult("usr_nobody", false, 0, ErrorCodes.NotFound),
                new BulkResult(bob.Id, true, 1, null),
                new BulkResult(gone.Id, false, 0, ErrorCodes.UserDeleted),
                new BulkResult(cy.Id, true, 0, null),
            ],
            results);
        foreach (var user in new[] { ada, bob, cy })
        {
            var ended = sessions[user.Id].Select(s => s.Session.Id).Order(StringComparer.Ordinal).ToArray();
            var banned = Assert.Single(await AuditAsync(user.Id, AuditActions.UserBanned));
            Assert.Equal(("raid", "192.0.2.9", _admin.Id), (banned.Reason, banned.IpAddress, banned.Actor.Id));
            Assert.Equal(ended, banned.SessionIds);
            var revoked = await AuditAsync(user.Id, AuditActions.SessionRevoked);
            if (ended.Length == 0)
            {
                Assert.Empty(revoked);
            }
            else
            {
                Assert.Equal(ended, Assert.Single(revoked).SessionIds);
                Assert.Equal("user_banned", revoked[0].Reason);
            }

            foreach (var session in sessions[user.Id])
            {
                Assert.Equal(SessionVerdictKind.AccountBanned, (await _tessera.Validator.CheckAsync(session.Token, Ct)).Verdict.Kind);
            }
        }

        // (the admin is the actor of every ban: only events that target them would be about them)
        Assert.DoesNotContain(await AuditAsync(_adminUser.Id, AuditActions.UserBanned), e => e.TargetUserId == _adminUser.Id);
        Assert.Empty(await AuditAsync(gone.Id, AuditActions.UserBanned));
        Assert.Empty(await AuditAsync("usr_nobody", AuditActions.UserBanned));
    }

    [Fact]
    public async Task A_bulk_cancelled_between_batches_leaves_the_batches_before_done_and_audited_and_the_rest_untouched()
    {
        // A handler that cancels the caller as soon as the first batch has been announced: the second batch must not begin.
        using var stop = new CancellationTokenSource();
        var canceller = new CancelOnFirst(stop);
        await using var tessera = await CoreHarness.StartAsync(
            configureServices: services => services.AddSingleton<IInvalidationHandler>(canceller), cancellationToken: Ct);
        var (_, admin) = await tessera.CreateAdminAsync(cancellationToken: Ct);
        var users = new List<(User User, LoginResult Session)>();
        for (var i = 0; i < 5; i++)
        {
            var user = await tessera.RegisterAsync($"user{i}@example.com", cancellationToken: Ct);
            users.Add((user, await tessera.LoginAsync(user.Email, cancellationToken: Ct)));
        }

        canceller.Armed = true;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tessera.Admin.BulkAsync(
            admin, BulkAction.Deactivate, [.. users.Select(u => u.User.Id)], null, until: null, null, batchSize: 2, stop.Token));

        await using var read = await tessera.Store.BeginReadAsync(Ct);
        foreach (var (user, session, index) in users.Select((u, i) => (u.User, u.Session, i)))
        {
            var stored = await read.Users.FindByIdAsync(user.Id, Ct);
            var events = await read.Audit.QueryAsync(new AuditQuery(user.Id, null, null, null, 100), Ct);
            var verdict = (await tessera.Validator.CheckAsync(session.Token, Ct)).Verdict.Kind;
            if (index < 2)
            {
                Assert.Equal(UserStatus.Deactivated, stored!.Status);
                Assert.Equal(user.SecurityVersion + 1, stored.SecurityVersion);
                Assert.Equal(
                    [AuditActions.SessionRevoked, AuditActions.UserDeactivated],
                    events.Where(e => e.Action is AuditActions.SessionRevoked or AuditActions.UserDeactivated).Select(e => e.Action).Reverse());
                Assert.Equal(SessionVerdictKind.AccountDeactivated, verdict);
            }
            else
            {
                Assert.Equal(UserStatus.Active, stored!.Status);
                Assert.Equal(user.SecurityVersion, stored.SecurityVersion);
                Assert.DoesNotContain(events, e => e.Action is AuditActions.SessionRevoked or AuditActions.UserDeactivated);
                Assert.Equal(SessionVerdictKind.Valid, verdict);
            }
        }
    }

    private async Task<IReadOnlyList<AuditEvent>> AuditAsync(string userId, string action) =>
        await _tessera.Admin.QueryAuditAsync(new AuditQuery(userId, action, null, null, 100), Ct);

    /// <summary>Once armed, cancels its source on the first invalidation it is handed.</summary>
    private sealed class CancelOnFirst(CancellationTokenSource stop) : IInvalidationHandler
    {
        public volatile bool Armed;

        public void Handle(Invalidation invalidation)
        {
            if (Armed)
            {
                stop.Cancel();
            }
        }
    }
}
