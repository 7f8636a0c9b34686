using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tessera.Testing;

namespace Tessera.Web.Tests;

/// <summary>
/// Sign-in with an OpenID Connect provider in headless Chromium, against the published server started as a process with
/// the provider configured on its command line, and the real test provider (OpenIddict on a loopback port; it signs its
/// test person in at once, the test plays the person): the buttons, a first sign-in that makes and links the account,
/// a deactivated person refused at the callback with the sentence on /login and no session, and /account's linked
/// methods with Unlink.
/// </summary>
public sealed partial class ExternalSignInTests(PublishedBuild build, WebConsole web) : IClassFixture<PublishedBuild>, IAsyncLifetime
{
    private const string Provider = "corp";
    private const string DisplayName = "Corp ID";

    private TestOpenIdProvider _provider = null!;
    private PublishedServer _server = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _provider = await TestOpenIdProvider.StartAsync();
        _server = await build.StartAsync(_provider.TesseraSettings(Provider, DisplayName).ToDictionary(s => s.Key, s => s.Value ?? string.Empty));
        await _provider.AllowRedirectUriAsync($"{_server.BaseUrl}/v1/auth/external/{Provider}/callback");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task The_sign_in_pages_offer_the_provider_and_a_first_sign_in_makes_links_and_lands_signed_in()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, _server.BaseUrl);
        var page = await device.NewPageAsync();

        await page.GotoAsync("/register");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = $"Continue with {DisplayName}" })).ToBeVisibleAsync();
        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Link, new() { Name = $"Continue with {DisplayName}" }).ClickAsync();

        // Through the provider and back, signed in on the account page, with the new link listed.
        await Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(_server.BaseUrl) + "/account$"));
        await Expect(page.Locator("#sign-in-methods")).ToContainTextAsync($"{DisplayName} ({person.Email})");
        await Expect(page.Locator("#sign-in-methods")).ToContainTextAsync("Password: none set");
        var cookies = await device.CookiesAsync([_server.BaseUrl]);
        Assert.Contains(cookies, cookie => cookie.Name == "tessera_session" && cookie.HttpOnly);
        await Screenshots.SaveAsync(page, "external-first-sign-in");
    }

    [Fact]
    public async Task A_deactivated_person_is_refused_at_the_callback_with_the_sentence_on_the_sign_in_page_and_no_session()
    {
        var person = ProviderPerson.New();
        _provider.Person = person;
        string userId;
        await using (var first = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, _server.BaseUrl))
        {
            var page = await first.NewPageAsync();
            await page.GotoAsync("/login");
            await page.GetByRole(AriaRole.Link, new() { Name = $"Continue with {DisplayName}" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Regex("/account$"));
            userId = await UserIdOfAsync(person.Email);
        }

        await AdminPostAsync($"/v1/admin/users/{userId}/deactivate");
        Assert.Equal(0, await ActiveSessionsAsync(userId));

        await using var device = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, _server.BaseUrl);
        var refused = await device.NewPageAsync();
        await refused.GotoAsync("/login");
        await refused.GetByRole(AriaRole.Link, new() { Name = $"Continue with {DisplayName}" }).ClickAsync();

        await Expect(refused).ToHaveURLAsync(WebConsole.LoginPage());
        await Expect(refused.GetByRole(AriaRole.Alert)).ToContainTextAsync("Your account has been deactivated.");
        var cookies = await device.CookiesAsync([_server.BaseUrl]);
        Assert.DoesNotContain(cookies, cookie => cookie.Name == "tessera_session" && cookie.Value.Length > 0);
        Assert.Equal(0, await ActiveSessionsAsync(userId));

        // Shown once: a reload of the sign-in page no longer says it.
        await refused.ReloadAsync();
        await Expect(refused.GetByText("Your account has been deactivated.")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task The_account_page_lists_the_linked_method_and_unlinks_it()
    {
        // An account with a password, joined by the provider through its verified address.
        var email = WebConsole.NewEmail("linked");
        await RegisterAsync(email);
        _provider.Person = ProviderPerson.New(emailVerified: true, email: email);
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, _server.BaseUrl);
        var page = await device.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Link, new() { Name = $"Continue with {DisplayName}" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/account$"));

        var methods = page.Locator("#sign-in-methods");
        await Expect(methods).ToContainTextAsync("Password: set");
        var link = methods.Locator($"li[data-provider='{Provider}']");
        await Expect(link).ToContainTextAsync($"{DisplayName} ({email})");

        await link.GetByRole(AriaRole.Button, new() { Name = "Unlink" }).ClickAsync();

        await Expect(methods.Locator($"li[data-provider='{Provider}']")).ToHaveCountAsync(0);
        await Expect(methods).ToContainTextAsync("Password: set");
        Assert.Empty(await LinksOfAsync(email));
    }

    // --- the published server's API, for setting up and reading state ---------------------------------------------

    private HttpClient Api(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(_server.BaseUrl) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }

        return client;
    }

    private async Task RegisterAsync(string email)
    {
        using var api = Api();
        var response = await api.PostAsJsonAsync("/v1/auth/register", new { email, password = TesseraWebServer.Password }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<string> LoginAsync(string email, string password)
    {
        using var api = Api();
        var response = await api.PostAsJsonAsync("/v1/auth/login", new { email, password }, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    private async Task<JsonElement> AdminGetAsync(string path)
    {
        using var api = Api(await LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword));
        var response = await api.GetAsync(path, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task AdminPostAsync(string path)
    {
        using var api = Api(await LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword));
        var response = await api.PostAsJsonAsync(path, new { }, Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancellation)}");
    }

    private async Task<string> UserIdOfAsync(string email)
    {
        var users = await AdminGetAsync($"/v1/admin/users?search={Uri.EscapeDataString(email)}");
        return users.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("email").GetString() == email).GetProperty("id").GetString()!;
    }

    private async Task<int> ActiveSessionsAsync(string userId) =>
        (await AdminGetAsync($"/v1/admin/users/{userId}/sessions")).GetProperty("sessions").GetArrayLength();

    /// <summary>The person's linked methods as they see them through the API (signed in with their password).</summary>
    private async Task<List<JsonElement>> LinksOfAsync(string email)
    {
        using var api = Api(await LoginAsync(email, TesseraWebServer.Password));
        var text = await api.GetStringAsync("/v1/auth/external/identities", Cancellation);
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("identities").EnumerateArray()];
    }
}
