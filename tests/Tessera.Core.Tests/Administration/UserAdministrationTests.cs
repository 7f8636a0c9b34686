using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Sessions;
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
}
