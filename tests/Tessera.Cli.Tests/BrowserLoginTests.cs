using System.Net;
using System.Net.Http.Json;

namespace Tessera.Cli.Tests;

/// <summary>
/// <c>tessera login --provider</c>, the built tool as a process against the real server on a loopback port and the real
/// OpenID Connect test provider (OpenIddict): the tool prints the address (<c>--no-browser</c>, or no browser to start),
/// and the "browser" is an HttpClient with cookies that follows every redirect from Tessera's start through the provider
/// and Tessera's callback to the tool's own loopback listener, as a person's browser would.
/// </summary>
public sealed class BrowserLoginTests : IAsyncLifetime
{
    private const string Provider = "corp";

    private TestOpenIdProvider _provider = null!;
    private LoopbackTesseraServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync();
        _server = new LoopbackTesseraServer(_provider.TesseraSettings(Provider, "Corp ID"));
        _server.Start();
        await _provider.AllowRedirectUriAsync($"{_server.BaseUrl}/v1/auth/external/{Provider}/callback");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task The_admin_signs_in_in_the_browser_and_the_profile_holds_a_cli_session_as_after_a_password_login()
    {
        // The provider vouches for the bootstrap admin's address: the first sign-in links it to that account.
        _provider.Person = ProviderPerson.New(email: LoopbackTesseraServer.AdminEmail);
        var tool = NewTool();

        using var running = tool.Start("login", "--url", _server.BaseUrl, "--provider", Provider, "--no-browser", "--json");
        var page = await FollowAsync(await AddressAsync(running));
        var login = await running.WaitForExitAsync();

        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains($"You are signed in as {LoopbackTesseraServer.AdminEmail}. You can close this window.", page.Html, StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.1:", page.Address.ToString(), StringComparison.Ordinal);

        // The same answer and profile as a password login: the server's shapes, a cli session, the token only in the file.
        Assert.Equal("default", login.Json.GetProperty("profile").GetString());
        Assert.Equal(_server.BaseUrl, login.Json.GetProperty("url").GetString());
        Assert.Equal(tool.ConfigPath, login.Json.GetProperty("configFile").GetString());
        Assert.Equal("cli", login.Json.GetProperty("session").GetProperty("device").GetProperty("platform").GetString());
        Assert.Equal("admin", login.Json.GetProperty("user").GetProperty("role").GetString());
        var sessionId = login.Json.GetProperty("session").GetProperty("id").GetString()!;
        var profile = JsonDocument.Parse(File.ReadAllText(tool.ConfigPath)).RootElement.GetProperty("profiles").GetProperty("default");
        Assert.Equal(sessionId, profile.GetProperty("sessionId").GetString());
        Assert.Equal(LoopbackTesseraServer.AdminEmail, profile.GetProperty("email").GetString());
        var token = profile.GetProperty("token").GetString()!;
        Assert.DoesNotContain(token, login.Stdout + login.Stderr, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tool.ConfigPath));
        }

        var whoami = await tool.RunAsync("whoami", "--json");
        Assert.True(whoami.ExitCode == 0, whoami.ToString());
        Assert.Equal(sessionId, whoami.Json.GetProperty("session").GetProperty("id").GetString());

        // An admin's CLI session: the admin commands work, and the audit log names the sign-in's provider.
        var users = await tool.RunAsync("users", "list", "--json");
        Assert.True(users.ExitCode == 0, users.ToString());
        var audit = await tool.RunAsync("audit", "tail", "-n", "50", "--action", "session.created", "--json");
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Contains($"\"{sessionId}\"", audit.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deactivated_account_is_refused_with_the_sentence_exit_4_and_nothing_saved()
    {
        _provider.Person = ProviderPerson.New();
        var first = NewTool();
        using (var running = first.Start("login", "--url", _server.BaseUrl, "--provider", Provider, "--no-browser", "--json"))
        {
            await FollowAsync(await AddressAsync(running));
            var signedIn = await running.WaitForExitAsync();
            Assert.True(signedIn.ExitCode == 0, signedIn.ToString());
            await AdminPostAsync($"/v1/admin/users/{signedIn.Json.GetProperty("user").GetProperty("id").GetString()}/deactivate");
        }

        var tool = NewTool();
        using var again = tool.Start("login", "--url", _server.BaseUrl, "--provider", Provider, "--no-browser");
        var page = await FollowAsync(await AddressAsync(again));
        var refused = await again.WaitForExitAsync();

        Assert.True(refused.ExitCode == 4, refused.ToString());
        Assert.Contains("account_deactivated", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("Your account has been deactivated.", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("Your account has been deactivated.", page.Html, StringComparison.Ordinal);
        Assert.False(File.Exists(tool.ConfigPath));
    }

    [Fact]
    public async Task With_no_browser_to_start_the_address_is_printed_and_the_sign_in_still_completes()
    {
        _provider.Person = ProviderPerson.New();
        var tool = NewTool();

        // A PATH with nothing on it: xdg-open cannot be found, as on a server without a desktop.
        var empty = Directory.CreateTempSubdirectory("tessera-no-browser-").FullName;
        tool.Environment["PATH"] = empty;
        using var running = tool.Start("login", "--url", _server.BaseUrl, "--provider", Provider);
        await FollowAsync(await AddressAsync(running));
        var login = await running.WaitForExitAsync();

        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Contains("could not open a browser", login.Stderr, StringComparison.Ordinal);
        // (The text is wrapped at the console's width; the words are what counts.)
        Assert.Contains($"as {_provider.Person.Email}", login.Stdout.ReplaceLineEndings(string.Empty), StringComparison.Ordinal);
        Assert.Contains("not an admin", login.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_provider_or_a_password_option_beside_provider_is_a_usage_error_before_any_browser()
    {
        var tool = NewTool();

        var unknown = await tool.RunAsync("login", "--url", _server.BaseUrl, "--provider", "nobody", "--no-browser", "--json");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Equal("unknown_provider", unknown.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(Provider, unknown.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("http://", unknown.Stderr, StringComparison.Ordinal);

        var both = await tool.RunAsync("login", "--url", _server.BaseUrl, "--provider", Provider, "--email", "a@example.test", "--json");
        Assert.True(both.ExitCode == 2, both.ToString());
        Assert.Equal("provider_with_password", both.Json.GetProperty("error").GetProperty("code").GetString());

        var alone = await tool.RunAsync("login", "--url", _server.BaseUrl, "--no-browser", "--json");
        Assert.True(alone.ExitCode == 2, alone.ToString());
        Assert.Equal("no_browser_without_provider", alone.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.False(File.Exists(tool.ConfigPath));
    }

    private CliProcess NewTool() => new(Path.Combine(_server.DataDirectory, "cli", $"{Guid.NewGuid():N}", "config.json"));

    /// <summary>The start address the tool printed for the person to open.</summary>
    private static async Task<Uri> AddressAsync(RunningTool running)
    {
        var line = await running.WaitForErrorLineAsync(l => l.StartsWith("http://", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var address = new Uri(line.Trim());
        Assert.Contains("code_challenge_method=S256", address.Query, StringComparison.Ordinal);
        Assert.Contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A", address.Query, StringComparison.Ordinal);
        return address;
    }

    /// <summary>The person's browser: follows every redirect with its cookies, and gives the page it ends on.</summary>
    private static async Task<(Uri Address, HttpStatusCode Status, string Html)> FollowAsync(Uri address)
    {
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 10, CookieContainer = new CookieContainer() })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        using var response = await browser.GetAsync(address, TestContext.Current.CancellationToken);
        return (response.RequestMessage!.RequestUri!, response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private async Task AdminPostAsync(string path)
    {
        using var api = _server.Api();
        var login = await api.PostAsJsonAsync("/v1/auth/login", new { email = LoopbackTesseraServer.AdminEmail, password = LoopbackTesseraServer.AdminPassword }, TestContext.Current.CancellationToken);
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("token").GetString()!;
        using var admin = _server.Api(token);
        using var response = await admin.PostAsync(path, content: null, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }
}
