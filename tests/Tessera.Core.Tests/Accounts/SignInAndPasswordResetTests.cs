using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Notifications;
using Tessera.Core.Options;
using Tessera.Core.Sessions;
using Xunit;

namespace Tessera.Core.Tests.Accounts;

/// <summary>What only the fake clock can show about signing in: throttling windows and reset token lifetimes.</summary>
public sealed class SignInAndPasswordResetTests : IAsyncLifetime
{
    private const string NewPassword = "a new and better password";

    private readonly CapturingResetSender _mail = new();
    private CoreHarness _tessera = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _tessera = await StartAsync();

    public ValueTask DisposeAsync() => _tessera.DisposeAsync();

    [Fact]
    public async Task Repeated_wrong_passwords_make_the_account_wait_longer_and_longer_and_then_let_it_in()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var rules = _tessera.Options.RateLimiting;

        for (var i = 0; i < rules.FailedLoginsBeforeBackoff; i++)
        {
            await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => _tessera.LoginAsync("ada@example.com", "wrong password!", cancellationToken: Ct));
        }

        // Even the right password waits: the account is backing off, 1 s after the fifth failure.
        var first = await AssertRefusedAsync(ErrorCodes.RateLimited, () => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));
        Assert.Equal(1, first.Details["retryAfter"]);

        _tessera.Clock.Advance(TimeSpan.FromSeconds(1));
        await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => _tessera.LoginAsync("ada@example.com", "wrong password!", cancellationToken: Ct));
        var second = await AssertRefusedAsync(ErrorCodes.RateLimited, () => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));
        Assert.Equal(2, second.Details["retryAfter"]);

        _tessera.Clock.Advance(TimeSpan.FromSeconds(1));
        await AssertRefusedAsync(ErrorCodes.RateLimited, () => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));

        _tessera.Clock.Advance(TimeSpan.FromSeconds(1));
        var login = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        Assert.True((await _tessera.Validator.CheckAsync(login.Token, Ct)).Holds);

        // A success clears the count: one more failure does not make the next attempt wait.
        await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => _tessera.LoginAsync("ada@example.com", "wrong password!", cancellationToken: Ct));
        await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
    }

    [Fact]
    public async Task The_backoff_of_one_account_does_not_slow_down_another()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        await _tessera.RegisterAsync("bob@example.com", cancellationToken: Ct);
        for (var i = 0; i < _tessera.Options.RateLimiting.FailedLoginsBeforeBackoff; i++)
        {
            await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => _tessera.LoginAsync("ada@example.com", "wrong password!", cancellationToken: Ct));
        }

        await AssertRefusedAsync(ErrorCodes.RateLimited, () => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));
        await _tessera.LoginAsync("bob@example.com", cancellationToken: Ct);
    }

    [Fact]
    public async Task A_client_ip_gets_its_budget_of_attempts_per_minute_and_a_new_one_the_next_minute()
    {
        await using var tessera = await StartAsync(o => o.RateLimiting.LoginPerIpPerMinute = 3);
        await tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);

        await tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct);
        await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => tessera.LoginAsync("nobody@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct));
        tessera.Clock.Advance(TimeSpan.FromSeconds(20));
        await tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct);

        var refused = await AssertRefusedAsync(ErrorCodes.RateLimited, () => tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct));
        Assert.Equal(40, refused.Details["retryAfter"]);
        await tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.8", cancellationToken: Ct);

        tessera.Clock.Advance(TimeSpan.FromSeconds(39));
        await AssertRefusedAsync(ErrorCodes.RateLimited, () => tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct));
        tessera.Clock.Advance(TimeSpan.FromSeconds(1));
        await tessera.LoginAsync("ada@example.com", ipAddress: "198.51.100.7", cancellationToken: Ct);
    }

    [Fact]
    public async Task A_reset_token_sets_a_new_password_ends_every_session_and_works_only_once()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var before = await _tessera.LoginAsync("ada@example.com", cancellationToken: Ct);
        await _tessera.RequestPasswordResetAsync("ADA@example.com ", "192.0.2.1", Ct);
        var token = Assert.Single(_mail.Sent).Token;

        await _tessera.PasswordReset.ResetPasswordAsync(token, NewPassword, "192.0.2.1", Ct);

        var old = await _tessera.Validator.CheckAsync(before.Token, Ct);
        Assert.Equal(SessionVerdictKind.Revoked, old.Verdict.Kind);
        Assert.Equal(RevocationReason.PasswordReset, old.Verdict.Reason);
        await AssertRefusedAsync(ErrorCodes.InvalidCredentials, () => _tessera.LoginAsync("ada@example.com", cancellationToken: Ct));
        await _tessera.LoginAsync("ada@example.com", NewPassword, cancellationToken: Ct);

        await AssertRefusedAsync(ErrorCodes.InvalidResetToken, () => _tessera.PasswordReset.ResetPasswordAsync(token, "yet another password", "192.0.2.1", Ct));
        await _tessera.LoginAsync("ada@example.com", NewPassword, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_reset_token_works_until_its_lifetime_has_passed()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        var lifetime = _tessera.Options.Passwords.ResetTokenLifetime;

        await _tessera.RequestPasswordResetAsync("ada@example.com", null, Ct);
        var late = _mail.Sent.Last().Token;
        _tessera.Clock.Advance(lifetime);
        await AssertRefusedAsync(ErrorCodes.InvalidResetToken, () => _tessera.PasswordReset.ResetPasswordAsync(late, NewPassword, null, Ct));

        await _tessera.RequestPasswordResetAsync("ada@example.com", null, Ct);
        var inTime = _mail.Sent.Last().Token;
        _tessera.Clock.Advance(lifetime - TimeSpan.FromMinutes(1));
        await _tessera.PasswordReset.ResetPasswordAsync(inTime, NewPassword, null, Ct);

        await _tessera.LoginAsync("ada@example.com", NewPassword, cancellationToken: Ct);
    }

    [Fact]
    public async Task Using_one_reset_token_voids_every_other_token_sent_before_it()
    {
        await _tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);
        await _tessera.RequestPasswordResetAsync("ada@example.com", null, Ct);
        await _tessera.RequestPasswordResetAsync("ada@example.com", null, Ct);
        var (older, newer) = (_mail.Sent.First().Token, _mail.Sent.Last().Token);

        await _tessera.PasswordReset.ResetPasswordAsync(newer, NewPassword, null, Ct);

        await AssertRefusedAsync(ErrorCodes.InvalidResetToken, () => _tessera.PasswordReset.ResetPasswordAsync(older, "an attacker's password", null, Ct));
        await _tessera.LoginAsync("ada@example.com", NewPassword, cancellationToken: Ct);
    }

    [Fact]
    public async Task A_reset_request_for_an_unknown_email_sends_nothing_and_says_nothing()
    {
        await _tessera.RequestPasswordResetAsync("nobody@example.com", null, Ct);

        Assert.Empty(_mail.Sent);
    }

    [Fact]
    public async Task A_reset_request_is_answered_without_waiting_for_the_lookup_or_the_sender()
    {
        var sender = new BlockingResetSender();
        await using var tessera = await CoreHarness.StartAsync(configureServices: services => services.AddSingleton<IPasswordResetSender>(sender), cancellationToken: Ct);
        await tessera.RegisterAsync("ada@example.com", cancellationToken: Ct);

        // With a sender that does not return, the answer must come anyway: the work happens after it. (The timeout only
        // keeps a regression from hanging the suite.)
        await tessera.PasswordReset.RequestPasswordResetAsync("ada@example.com", "192.0.2.1", Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await tessera.PasswordReset.RequestPasswordResetAsync("nobody@example.com", "192.0.2.1", Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var message = await sender.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("ada@example.com", message.Email);
        sender.Release.SetResult();
        await tessera.RequestPasswordResetAsync("ada@example.com", cancellationToken: Ct);
        await tessera.PasswordReset.ResetPasswordAsync(sender.Last!.Token, NewPassword, null, Ct);
        await tessera.LoginAsync("ada@example.com", NewPassword, cancellationToken: Ct);
    }

    private Task<CoreHarness> StartAsync(Action<TesseraOptions>? configure = null) =>
        CoreHarness.StartAsync(configure, services => services.AddSingleton<IPasswordResetSender>(_mail), Ct);

    private static async Task<TesseraException> AssertRefusedAsync(string code, Func<Task> action)
    {
        var refused = await Assert.ThrowsAsync<TesseraException>(action);
        Assert.Equal(code, refused.Code);
        return refused;
    }

    /// <summary>Holds the first message until the test releases it.</summary>
    private sealed class BlockingResetSender : IPasswordResetSender
    {
        public TaskCompletionSource<PasswordResetMessage> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public PasswordResetMessage? Last { get; private set; }

        public async Task SendAsync(PasswordResetMessage message, CancellationToken cancellationToken)
        {
            Entered.TrySetResult(message);
            await Release.Task.WaitAsync(cancellationToken);
            Last = message;
        }
    }

    private sealed class CapturingResetSender : IPasswordResetSender
    {
        private readonly ConcurrentQueue<PasswordResetMessage> _sent = new();

        public IReadOnlyCollection<PasswordResetMessage> Sent => _sent;

        public Task SendAsync(PasswordResetMessage message, CancellationToken cancellationToken)
        {
            _sent.Enqueue(message);
            return Task.CompletedTask;
        }
    }
}
