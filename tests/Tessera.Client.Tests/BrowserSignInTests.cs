using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Testing;

namespace Tessera.Client.Tests;

/// <summary>
/// <see cref="TesseraClient.SignInWithBrowserAsync"/> against the real server on a loopback port and the real OpenID
/// Connect test provider (OpenIddict): the "browser" is an HttpClient with cookies that follows every redirect, from
/// Tessera's start through the provider and Tessera's callback to the client's own loopback listener, as a person's
/// browser would (the provider signs its test person in without a form).
/// </summary>
public sealed class BrowserSignInTests : IAsyncLifetime
{
    private const string Provider = "corp";

    private TestOpenIdProvider _provider = null!;
    private LoopbackTesseraServer _server = null!;
    private string _adminToken = "";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync();
        _server = new LoopbackTesseraServer(_provider.TesseraSettings(Provider, "Corp ID"));
        _server.Start();
        await _provider.AllowRedirectUriAsync($"{_server.BaseUrl}/v1/auth/external/{Provider}/callback");
        using var api = _server.Api();
        using var login = await api.PostAsync("/v1/auth/login", JsonContent(new { email = LoopbackTesseraServer.AdminEmail, password = LoopbackTesseraServer.AdminPassword }), Cancellation);
        _adminToken = System.Text.Json.JsonDocument.Parse(await login.Content.ReadAsStringAsync(Cancellation)).RootElement.GetProperty("token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task The_browser_round_trip_ends_in_a_session_for_this_device_and_the_page_says_the_window_can_close()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        var store = new MemoryTokenStore();
        using var client = NewClient(store);
        var browser = new Browser();

        var result = await client.SignInWithBrowserAsync(Provider, new BrowserSignInOptions { OpenBrowser = browser.Open }, Cancellation);

        Assert.Equal(person.Email, result.User.Email);
        Assert.Equal("Ada's laptop", result.Session.DeviceName);
        Assert.Equal("desktop", result.Session.Platform);
        Assert.Equal("Debian 13", result.Session.Os);
        Assert.NotNull(store.Load());
        Assert.Equal(result.Session.Id, (await client.GetCurrentSessionAsync(Cancellation)).Session.Id);

        var page = await browser.LastPage;
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains($"You are signed in as {person.Email}. You can close this window.", page.Html, StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.1:", page.Address.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(result.Session.Id, page.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deactivated_person_gets_the_sentence_in_the_browser_and_the_app_and_no_token()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        using (var first = NewClient(new MemoryTokenStore()))
        {
            var signedIn = await first.SignInWithBrowserAsync(Provider, new BrowserSignInOptions { OpenBrowser = new Browser().Open }, Cancellation);
            await AdminPostAsync($"/v1/admin/users/{signedIn.User.Id}/deactivate");
        }

        var store = new MemoryTokenStore();
        using var client = NewClient(store);
        var browser = new Browser();
        var refused = await Assert.ThrowsAsync<TesseraApiException>(() =>
            client.SignInWithBrowserAsync(Provider, new BrowserSignInOptions { OpenBrowser = browser.Open }, Cancellation));

        Assert.Equal("account_deactivated", refused.Code);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("Your account has been deactivated.", refused.Message);
        Assert.Null(store.Load());
        Assert.Contains("Your account has been deactivated.", (await browser.LastPage).Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_provider_is_refused_before_any_browser_opens()
    {
        using var client = NewClient(new MemoryTokenStore());
        var opened = false;

        var refused = await Assert.ThrowsAsync<TesseraApiException>(() => client.SignInWithBrowserAsync("nobody", new BrowserSignInOptions
        {
            OpenBrowser = (_, _) =>
            {
                opened = true;
                return Task.CompletedTask;
            },
        }, Cancellation));

        Assert.Equal("unknown_provider", refused.Code);
        Assert.Contains("corp", refused.Message, StringComparison.Ordinal);
        Assert.False(opened);
    }

    [Fact]
    public async Task A_browser_that_never_comes_back_times_out_and_a_cancelled_wait_ends_at_once()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = NewClient(new MemoryTokenStore(), clock);
        var opened = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new BrowserSignInOptions
        {
            Timeout = TimeSpan.FromMinutes(2),
            OpenBrowser = (address, _) =>
            {
                opened.TrySetResult(address);
                return Task.CompletedTask;
            },
        };

        var waiting = client.SignInWithBrowserAsync(Provider, options, Cancellation);
        var start = await opened.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        Assert.Contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A", start.Query, StringComparison.Ordinal);
        Assert.Contains("code_challenge_method=S256", start.Query, StringComparison.Ordinal);
        clock.Advance(options.Timeout);
        await Assert.ThrowsAsync<TimeoutException>(() => waiting);

        using var cancel = new CancellationTokenSource();
        opened = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = client.SignInWithBrowserAsync(Provider, options, cancel.Token);
        await opened.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
    }

    [Fact]
    public async Task A_request_to_the_listener_with_another_state_is_ignored()
    {
        _provider.Person = ProviderPerson.New();
        using var client = NewClient(new MemoryTokenStore());
        var browser = new Browser();
        Task<HttpStatusCode>? forged = null;

        var result = await client.SignInWithBrowserAsync(Provider, new BrowserSignInOptions
        {
            OpenBrowser = (address, token) =>
            {
                // Another page tries the listener first, with a code of its choosing and the wrong state; then the real
                // browser goes. Both on their own, as a browser does: the client reads its listener once this returns.
                var listener = Uri.UnescapeDataString(System.Web.HttpUtility.ParseQueryString(address.Query)["redirect_uri"]!);
                forged = Task.Run(async () =>
                {
                    using var other = new HttpClient();
                    var status = (await other.GetAsync($"{listener}?code=forged&state=wrong", CancellationToken.None)).StatusCode;
                    await browser.Open(address, CancellationToken.None);
                    return status;
                }, CancellationToken.None);
                return Task.CompletedTask;
            },
        }, Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, await forged!);
        Assert.Equal(_provider.Person.Email, result.User.Email);
    }

    private TesseraClient NewClient(ITokenStore store, TimeProvider? clock = null) => new(new TesseraClientOptions
    {
        Authority = new Uri(_server.BaseUrl),
        TokenStore = store,
        Device = new DeviceInfo("Ada's laptop", "desktop", "Debian 13"),
        TimeProvider = clock ?? TimeProvider.System,
        RequestTimeout = TimeSpan.FromSeconds(30),
    });

    private async Task AdminPostAsync(string path)
    {
        using var api = _server.Api(_adminToken);
        using var response = await api.PostAsync(path, content: null, Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    /// <summary>
    /// The person's browser: opened, it goes off on its own (as the system browser does), following every redirect with
    /// its cookies, and keeps the page it ends on.
    /// </summary>
    private sealed class Browser
    {
        private readonly TaskCompletionSource<(Uri Address, HttpStatusCode Status, string Html)> _lastPage = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<(Uri Address, HttpStatusCode Status, string Html)> LastPage => _lastPage.Task.WaitAsync(TimeSpan.FromSeconds(60));

        public Task Open(Uri address, CancellationToken cancellationToken)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 10, CookieContainer = new CookieContainer() });
                    http.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
                    using var response = await http.GetAsync(address, CancellationToken.None);
                    _lastPage.TrySetResult((response.RequestMessage!.RequestUri!, response.StatusCode, await response.Content.ReadAsStringAsync(CancellationToken.None)));
                }
                catch (Exception failure)
                {
                    _lastPage.TrySetException(failure);
                }
            }, CancellationToken.None);
            return Task.CompletedTask;
        }
    }
}
