using System.Net.Http.Json;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary><see cref="SessionWatcher.SessionEnded"/> for each way a session ends, with the reason and the server's sentence, exactly once.</summary>
public sealed class SessionEndedTests(RealTessera tessera) : IClassFixture<RealTessera>
{
    private const string NewPassword = "a new and long passphrase 7";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("sign out all devices elsewhere", "signed_out_all_devices", "You signed out of all devices.")]
    [InlineData("sign out other devices elsewhere", "signed_out_other_devices", "Your session was ended from another device.")]
    [InlineData("end this session elsewhere", "revoked_by_user", "Your session was ended from another device.")]
    [InlineData("change the password elsewhere", "password_changed", "Your password was changed, so this session was ended. Please sign in again.")]
    [InlineData("reset the password", "password_reset", "Your password was reset, so this session was ended. Please sign in again.")]
    [InlineData("admin deactivates", "user_deactivated", "Your account has been deactivated.")]
    [InlineData("admin bans", "user_banned", "Your account has been banned.")]
    [InlineData("admin deletes", "user_deleted", "Your account has been deleted.")]
    [InlineData("admin ends the sessions", "revoked_by_admin", "An administrator ended your session.")]
    public async Task The_watcher_learns_each_ending_at_once_with_its_reason_and_sentence(string cause, string reason, string sentence)
    {
        var (email, userId) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        var signedIn = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Live);

        await CauseAsync(cause, email, userId, signedIn.Session.Id);

        var ended = await probe.EndedAsync();
        Assert.Equal(reason, ended.Reason);
        Assert.Equal(sentence, ended.Sentence);
        Assert.Null(ended.BannedUntil);
        await probe.StateAsync(SessionWatcherState.Ended);
        Assert.Null(store.Load());
        Assert.False(client.IsSignedIn);
        Assert.Single(probe.Ended);
    }

    [Fact]
    public async Task A_timed_ban_is_told_with_its_end_and_the_sentence_that_names_it()
    {
        var (email, userId) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Live);
        var until = DateTimeOffset.UtcNow.AddDays(2);

        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { until });

        var ended = await probe.EndedAsync();
        Assert.Equal("user_banned", ended.Reason);
        Assert.NotNull(ended.BannedUntil);
        Assert.True((ended.BannedUntil.Value - until).Duration() < TimeSpan.FromSeconds(1));
        Assert.StartsWith("Your account is banned until ", ended.Sentence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_that_ended_before_the_watcher_started_is_told_from_the_streams_refusal()
    {
        var (email, _) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);

        watcher.Start();

        var ended = await probe.EndedAsync();
        Assert.Equal("signed_out_all_devices", ended.Reason);
        Assert.Equal("You signed out of all devices.", ended.Sentence);
        Assert.Null(store.Load());
    }

    [Fact]
    public async Task Every_path_that_learns_the_end_raises_it_once_for_the_session()
    {
        var (email, _) = await tessera.NewUserAsync();
        var store = new StubbornTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.Live);

        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-others");
        await probe.EndedAsync();

        // The token is still stored (this store keeps it): the API's 401 and a check now learn the same end again.
        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.ListSessionsAsync(Cancellation));
        Assert.True(refused.SessionEnded);
        await watcher.CheckNowAsync(Cancellation);
        Assert.Single(probe.Ended);
        Assert.Equal(SessionWatcherState.Ended, watcher.State);
        Assert.True(store.Clears >= 1);
    }

    [Fact]
    public async Task Signing_out_or_out_of_all_devices_from_this_app_is_no_news_the_watcher_goes_to_signed_out()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        watcher.Start();
        await probe.StateAsync(SessionWatcherState.SignedOut);

        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await probe.StateAsync(SessionWatcherState.Live);
        await client.SignOutAsync(Cancellation);
        await probe.StateAsync(SessionWatcherState.SignedOut);

        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await probe.StateAsync(SessionWatcherState.Live);
        await client.EndAllSessionsAsync(Cancellation);
        await probe.StateAsync(SessionWatcherState.SignedOut);

        // A new sign-in is watched again, and its end elsewhere is news.
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await probe.StateAsync(SessionWatcherState.Live);
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-others");
        Assert.Equal("signed_out_other_devices", (await probe.EndedAsync()).Reason);
        Assert.Single(probe.Ended);
    }

    [Fact]
    public async Task The_events_are_raised_on_the_synchronization_context_captured_at_start()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        using var ui = new SingleThreadContext();
        await using var watcher = client.CreateWatcher();
        var probe = new WatcherProbe(watcher);
        var endedOnUi = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var statesOnUi = true;
        watcher.StateChanged += (_, _) => statesOnUi &= ui.IsCurrent;
        watcher.SessionEnded += (_, _) => endedOnUi.TrySetResult(ui.IsCurrent && SynchronizationContext.Current == ui);
        await ui.RunAsync(watcher.Start);
        await probe.StateAsync(SessionWatcherState.Live);

        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");

        Assert.True(await endedOnUi.Task.WaitAsync(TimeSpan.FromSeconds(20), Cancellation));
        Assert.True(statesOnUi);
    }

    [Fact]
    public async Task Two_copies_of_an_app_on_one_token_file_both_learn_the_end_once_and_neither_fails()
    {
        var (email, _) = await tessera.NewUserAsync();
        var path = Path.Combine(tessera.Server.DataDirectory, "app", "session.token");
        using var first = tessera.NewClient(new FileTokenStore(path));
        using var second = tessera.NewClient(new FileTokenStore(path));
        await first.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        Assert.True(second.IsSignedIn);
        await using var firstWatcher = first.CreateWatcher();
        await using var secondWatcher = second.CreateWatcher();
        var firstProbe = new WatcherProbe(firstWatcher);
        var secondProbe = new WatcherProbe(secondWatcher);
        firstWatcher.Start();
        secondWatcher.Start();
        await firstProbe.StateAsync(SessionWatcherState.Live);
        await secondProbe.StateAsync(SessionWatcherState.Live);

        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");

        Assert.Equal("signed_out_all_devices", (await firstProbe.EndedAsync()).Reason);
        Assert.Equal("signed_out_all_devices", (await secondProbe.EndedAsync()).Reason);
        await firstProbe.StateAsync(SessionWatcherState.Ended);
        await secondProbe.StateAsync(SessionWatcherState.Ended);
        Assert.False(File.Exists(path));
        Assert.False(first.IsSignedIn);
        Assert.False(second.IsSignedIn);
        Assert.Single(firstProbe.Ended);
        Assert.Single(secondProbe.Ended);
    }

    private async Task CauseAsync(string cause, string email, string userId, string sessionId)
    {
        switch (cause)
        {
            case "sign out all devices elsewhere":
                await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");
                break;
            case "sign out other devices elsewhere":
                await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-others");
                break;
            case "end this session elsewhere":
                await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Delete, $"/v1/sessions/{sessionId}");
                break;
            case "change the password elsewhere":
                await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/auth/password/change",
                    new { currentPassword = LoopbackTesseraServer.Password, newPassword = NewPassword });
                break;
            case "reset the password":
                using (var anonymous = tessera.Server.Api())
                {
                    using var requested = await anonymous.PostAsJsonAsync("/v1/auth/password/reset-request", new { email }, Cancellation);
                    var token = await tessera.ReadResetTokenAsync(email);
                    using var reset = await anonymous.PostAsJsonAsync("/v1/auth/password/reset", new { token, newPassword = NewPassword }, Cancellation);
                    Assert.True(reset.IsSuccessStatusCode, $"reset: {(int)reset.StatusCode}");
                }

                break;
            case "admin deactivates":
                await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");
                break;
            case "admin bans":
                await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban");
                break;
            case "admin deletes":
                await tessera.AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}");
                break;
            case "admin ends the sessions":
                await tessera.AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}/sessions");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(cause), cause, null);
        }
    }

    /// <summary>A store that keeps the token whatever it is told, so that later paths still see the ended token.</summary>
    private sealed class StubbornTokenStore : ITokenStore
    {
        private string? _token;

        public int Clears { get; private set; }

        public string? Load() => _token;

        public void Save(string token) => _token = token;

        public void Clear() => Clears++;
    }
}
