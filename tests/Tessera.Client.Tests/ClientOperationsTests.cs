using System.Net;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>Every operation of <see cref="TesseraClient"/> against the real server.</summary>
public sealed class ClientOperationsTests(RealTessera tessera) : IClassFixture<RealTessera>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sign_in_stores_the_token_and_records_the_device_it_describes()
    {
        var (email, userId) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store, device: new DeviceInfo("Ada's laptop", "desktop", "Ubuntu 24.04"));
        Assert.False(client.IsSignedIn);

        var result = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        Assert.True(client.IsSignedIn);
        Assert.NotNull(store.Load());
        Assert.Equal(43, store.Load()!.Length);
        Assert.Equal(userId, result.User.Id);
        Assert.Equal(email, result.User.Email);
        Assert.Equal("Ada's laptop", result.Session.DeviceName);
        Assert.Equal("desktop", result.Session.Platform);
        Assert.Equal("Ubuntu 24.04", result.Session.Os);
        Assert.True(result.Session.IsCurrent);
    }

    [Fact]
    public async Task The_device_read_from_the_machine_signs_in_as_a_desktop_with_the_host_name()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = new TesseraClient(new TesseraClientOptions { Authority = tessera.Authority, TokenStore = new MemoryTokenStore() });

        var result = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        var machine = DeviceInfo.FromMachine();
        Assert.Equal("desktop", result.Session.Platform);
        Assert.Equal(machine.Name, result.Session.DeviceName);
        Assert.Equal(machine.Os, result.Session.Os);
        Assert.False(string.IsNullOrEmpty(result.Session.Os));
    }

    [Fact]
    public async Task Whoami_gives_the_account_and_this_session()
    {
        var (email, userId) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();
        var signedIn = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        var current = await client.GetCurrentSessionAsync(Cancellation);

        Assert.Equal(userId, current.User.Id);
        Assert.Equal("user", current.User.Role);
        Assert.Equal("active", current.User.Status);
        Assert.Equal(signedIn.Session.Id, current.Session.Id);
        Assert.True(current.Session.IsCurrent);
    }

    [Fact]
    public async Task The_sessions_list_shows_every_device_and_marks_this_one()
    {
        var (email, _) = await tessera.NewUserAsync();
        await tessera.LoginAsync(email);
        using var client = tessera.NewClient();
        var signedIn = await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        var sessions = await client.ListSessionsAsync(Cancellation);

        Assert.Equal(2, sessions.Count);
        var mine = Assert.Single(sessions, session => session.IsCurrent);
        Assert.Equal(signedIn.Session.Id, mine.Id);
        var other = Assert.Single(sessions, session => !session.IsCurrent);
        Assert.Equal("Other device", other.DeviceName);
        Assert.Equal("web", other.Platform);
        Assert.Equal("127.0.0.1", other.IpAddress);
        Assert.True(other.LastActiveAt >= other.CreatedAt);
    }

    [Fact]
    public async Task Ending_one_session_ends_that_one_only()
    {
        var (email, _) = await tessera.NewUserAsync();
        var otherToken = await tessera.LoginAsync(email);
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        var other = Assert.Single(await client.ListSessionsAsync(Cancellation), session => !session.IsCurrent);

        await client.EndSessionAsync(other.Id, Cancellation);

        Assert.Single(await client.ListSessionsAsync(Cancellation));
        await AssertEndedAsync(otherToken, "revoked_by_user");
    }

    [Fact]
    public async Task Ending_the_others_keeps_this_one()
    {
        var (email, _) = await tessera.NewUserAsync();
        var first = await tessera.LoginAsync(email);
        var second = await tessera.LoginAsync(email);
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        Assert.Equal(2, await client.EndOtherSessionsAsync(Cancellation));

        Assert.True(Assert.Single(await client.ListSessionsAsync(Cancellation)).IsCurrent);
        await AssertEndedAsync(first, "signed_out_other_devices");
        await AssertEndedAsync(second, "signed_out_other_devices");
    }

    [Fact]
    public async Task Ending_all_ends_this_one_too_and_forgets_the_token()
    {
        var (email, _) = await tessera.NewUserAsync();
        var other = await tessera.LoginAsync(email);
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        var mine = store.Load()!;

        Assert.Equal(2, await client.EndAllSessionsAsync(Cancellation));

        Assert.False(client.IsSignedIn);
        await AssertEndedAsync(mine, "signed_out_all_devices");
        await AssertEndedAsync(other, "signed_out_all_devices");
    }

    [Fact]
    public async Task Sign_out_ends_the_session_and_forgets_the_token()
    {
        var (email, _) = await tessera.NewUserAsync();
        var store = new MemoryTokenStore();
        using var client = tessera.NewClient(store);
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);
        var token = store.Load()!;

        await client.SignOutAsync(Cancellation);

        Assert.False(client.IsSignedIn);
        await AssertEndedAsync(token, "signed_out");
        await client.SignOutAsync(Cancellation); // Signed out already: nothing to do, no error.
    }

    [Fact]
    public async Task Sign_out_forgets_the_token_even_when_the_server_cannot_be_reached()
    {
        var store = new MemoryTokenStore("t".PadRight(43, 'x'));
        using var client = tessera.NewClient(store, authority: new Uri($"http://127.0.0.1:{ClosedPort()}/"));

        await client.SignOutAsync(Cancellation);

        Assert.Null(store.Load());
    }

    [Fact]
    public async Task A_password_change_keeps_this_session_ends_the_others_and_the_new_password_signs_in()
    {
        var (email, _) = await tessera.NewUserAsync();
        var other = await tessera.LoginAsync(email);
        using var client = tessera.NewClient();
        await client.SignInAsync(email, LoopbackTesseraServer.Password, Cancellation);

        await client.ChangePasswordAsync(LoopbackTesseraServer.Password, "a new and long passphrase 7", Cancellation);

        await client.GetCurrentSessionAsync(Cancellation);
        await AssertEndedAsync(other, "password_changed");
        using var again = tessera.NewClient();
        await again.SignInAsync(email, "a new and long passphrase 7", Cancellation);
    }

    [Fact]
    public async Task A_reset_request_is_accepted_and_sends_a_token_that_resets_the_password()
    {
        var (email, _) = await tessera.NewUserAsync();
        using var client = tessera.NewClient();

        await client.RequestPasswordResetAsync(email, Cancellation);
        await client.RequestPasswordResetAsync($"nobody{Guid.NewGuid():N}@example.test", Cancellation); // The same answer for no account.

        Assert.Equal(43, (await tessera.ReadResetTokenAsync(email)).Length);
    }

    [Fact]
    public async Task A_signed_in_call_without_a_token_is_refused_as_unauthenticated_without_a_request()
    {
        using var client = tessera.NewClient(authority: new Uri($"http://127.0.0.1:{ClosedPort()}/"));

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.ListSessionsAsync(Cancellation));

        Assert.Equal(TesseraErrorCodes.Unauthenticated, refused.Code);
        Assert.False(refused.SessionEnded);
    }

    internal static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task AssertEndedAsync(string token, string reason)
    {
        using var api = tessera.Server.Api(token);
        var problem = await RealTessera.Json(await api.GetAsync("/v1/auth/session", Cancellation), HttpStatusCode.Unauthorized);
        Assert.Equal("session_revoked", problem.GetProperty("code").GetString());
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
    }
}
