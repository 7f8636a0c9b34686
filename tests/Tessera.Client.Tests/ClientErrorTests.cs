using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>Every refusal a client app meets, as one <see cref="TesseraApiException"/> with the server's code and sentence; no answer as <see cref="TesseraUnavailableException"/>.</summary>
public sealed class ClientErrorTests(RealTessera tessera) : IClassFixture<RealTessera>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_wrong_password_or_unknown_email_is_invalid_credentials_with_the_servers_sentence()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();

        var wrong = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, "not the password", Cancellation));
        var unknown = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync("nobody@example.test", "whatever1", Cancellation));

        foreach (var refused in new[] { wrong, unknown })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal(TesseraErrorCodes.InvalidCredentials, refused.Code);
            Assert.False(string.IsNullOrWhiteSpace(refused.Message));
            Assert.False(refused.SessionEnded);
        }

        Assert.False(client.IsSignedIn);
    }

    [Fact]
    public async Task A_deactivated_account_is_refused_at_sign_in_with_account_deactivated()
    {
        var (email, userId) = await tessera.NewUserAsync();
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/deactivate");
        using var client = tessera.NewClient();

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(TesseraErrorCodes.AccountDeactivated, refused.Code);
        Assert.Null(refused.BannedUntil);
    }

    [Fact]
    public async Task A_banned_account_is_refused_at_sign_in_with_the_end_of_the_ban()
    {
        var (email, userId) = await tessera.NewUserAsync();
        var until = DateTimeOffset.UtcNow.AddDays(3);
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban", new { until });
        using var client = tessera.NewClient();

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(TesseraErrorCodes.AccountBanned, refused.Code);
        Assert.NotNull(refused.BannedUntil);
        Assert.True((refused.BannedUntil.Value - until).Duration() < TimeSpan.FromSeconds(1), $"{refused.BannedUntil} vs {until}");
    }

    [Fact]
    public async Task A_ban_without_end_has_no_banned_until()
    {
        var (email, userId) = await tessera.NewUserAsync();
        await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/ban");
        using var client = tessera.NewClient();

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation));

        Assert.Equal(TesseraErrorCodes.AccountBanned, refused.Code);
        Assert.Null(refused.BannedUntil);
    }

    [Fact]
    public async Task A_missing_email_is_validation_failed()
    {
        using var client = tessera.NewClient();

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(string.Empty, "x", Cancellation));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(TesseraErrorCodes.ValidationFailed, refused.Code);
    }

    [Fact]
    public async Task A_weak_new_password_is_weak_password_and_a_wrong_current_one_is_wrong_password_and_neither_ends_the_session()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        var weak = await Assert.ThrowsAsync<TesseraApiException>(() => client.ChangePasswordAsync(LoopbackTesseraServer.Password, "password", Cancellation));
        var wrong = await Assert.ThrowsAsync<TesseraApiException>(() => client.ChangePasswordAsync("not the password", "a new and long passphrase 7", Cancellation));

        Assert.Equal(TesseraErrorCodes.WeakPassword, weak.Code);
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(weak.Message));
        Assert.Equal(TesseraErrorCodes.WrongPassword, wrong.Code);
        Assert.True(client.IsSignedIn);
        await client.GetCurrentSessionAsync(Cancellation);
    }

    [Fact]
    public async Task Ending_this_session_by_id_is_cannot_revoke_current_and_an_unknown_one_is_not_found()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        var signedIn = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        var current = await Assert.ThrowsAsync<TesseraApiException>(() => client.EndSessionAsync(signedIn.Session.Id, Cancellation));
        var unknown = await Assert.ThrowsAsync<TesseraApiException>(() => client.EndSessionAsync("ses_unknown", Cancellation));

        Assert.Equal(TesseraErrorCodes.CannotRevokeCurrent, current.Code);
        Assert.Equal(TesseraErrorCodes.NotFound, unknown.Code);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True(client.IsSignedIn);
    }

    [Fact]
    public async Task A_call_on_a_session_ended_elsewhere_says_so_with_the_reason_and_forgets_the_token()
    {
        var (email, _) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        await tessera.CallAsync(await tessera.LoginAsync(email), HttpMethod.Post, "/v1/sessions/revoke-all");

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.ListSessionsAsync(Cancellation));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(TesseraErrorCodes.SessionRevoked, refused.Code);
        Assert.Equal("signed_out_all_devices", refused.Reason);
        Assert.Equal("You signed out of all devices.", refused.Message);
        Assert.True(refused.SessionEnded);
        Assert.Null(store.Load());
    }

    [Theory]
    [InlineData("deactivate", "account_deactivated", "user_deactivated")]
    [InlineData("ban", "account_banned", "user_banned")]
    [InlineData("delete", "account_deleted", "user_deleted")]
    public async Task A_call_after_an_admin_action_on_the_account_gives_the_accounts_code_and_ends_the_session(string action, string code, string reason)
    {
        var (email, userId) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        if (action == "delete")
        {
            await tessera.AdminAsync(HttpMethod.Delete, $"/v1/admin/users/{userId}");
        }
        else
        {
            await tessera.AdminAsync(HttpMethod.Post, $"/v1/admin/users/{userId}/{action}");
        }

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.GetCurrentSessionAsync(Cancellation));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(code, refused.Code);
        Assert.Equal(reason, refused.Reason);
        Assert.True(refused.SessionEnded);
        Assert.Null(store.Load());
    }

    [Fact]
    public async Task A_token_that_names_no_session_is_unauthenticated_and_forgotten()
    {
        var store = new MemoryTokenStore(new string('A', 43));
        using var client = tessera.NewClient(store);

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.GetCurrentSessionAsync(Cancellation));

        Assert.Equal(TesseraErrorCodes.Unauthenticated, refused.Code);
        Assert.True(refused.SessionEnded);
        Assert.Null(store.Load());
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_is_unavailable_and_the_token_stays()
    {
        var store = new MemoryTokenStore(new string('A', 43));
        using var client = tessera.NewClient(store, authority: new Uri($"http://127.0.0.1:{ClientOperationsTests.ClosedPort()}/"));

        await Assert.ThrowsAsync<TesseraUnavailableException>(() => client.GetCurrentSessionAsync(Cancellation));
        await Assert.ThrowsAsync<TesseraUnavailableException>(() => client.SignInAsync("a@example.test", "x", Cancellation));

        Assert.NotNull(store.Load());
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_unavailable_and_the_token_stays()
    {
        var (email, _) = await tessera.NewUserAsync();
        await using var proxy = new TcpChaosProxy(new Uri(tessera.Server.BaseUrl).Port);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store, clock, new Uri($"http://{proxy.Endpoint}/"));
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        proxy.Blackhole();

        var call = client.GetCurrentSessionAsync(Cancellation);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!call.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "The stalled call did not time out on the fake clock within 20 s.");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(call, Task.Delay(20, Cancellation));
        }

        await Assert.ThrowsAsync<TesseraUnavailableException>(() => call);
        Assert.NotNull(store.Load());
        proxy.Heal();
        await client.GetCurrentSessionAsync(Cancellation);
    }
}

/// <summary>A server with tight login throttling, for <c>rate_limited</c>.</summary>
public sealed class ThrottledTessera() : RealTessera(new Dictionary<string, string?>
{
    ["Tessera:RateLimiting:FailedLoginsBeforeBackoff"] = "1",
});

public sealed class RateLimitTests(ThrottledTessera tessera) : IClassFixture<ThrottledTessera>
{
    [Fact]
    public async Task Too_many_failed_sign_ins_are_rate_limited_with_the_time_to_wait()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, "not the password", TestContext.Current.CancellationToken));

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInAsync(email, "not the password", TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TesseraErrorCodes.RateLimited, refused.Code);
        Assert.NotNull(refused.RetryAfter);
        Assert.True(refused.RetryAfter >= TimeSpan.FromSeconds(1));
    }
}
