using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>
/// /admin/clients: an admin creates a service client, sees its secret once, rotates it and disables the client; the
/// secrets the page shows are the ones <c>POST /oauth2/introspect</c> accepts, and stop being accepted when they should.
/// With script the confirmations are dialogs; without it they are pages of their own.
/// </summary>
public sealed class ClientsTests(WebConsole web)
{
    [Fact]
    public async Task An_admin_creates_a_client_sees_its_secret_once_rotates_it_and_disables_it()
    {
        var name = "Billing " + Guid.NewGuid().ToString("N")[..8];
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, timezone: "Europe/Paris");
        var page = await WebConsole.SignInAsync(device, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fclients");
        await Expect(page).ToHaveURLAsync(new Regex("/admin/clients$"));
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Clients" }))
            .ToHaveAttributeAsync("aria-current", "page");

        // Bad input is refused on its field, and what was typed stays.
        await AssertRefusedInputAsync(page, name);

        // Created: the secret is on the page, once, with the sentence that says so.
        await page.Locator("input[name='scopes'][value='introspect']").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create client" }).ClickAsync();
        var (clientId, secret) = await IssuedAsync(page, name);
        Assert.DoesNotContain(secret, page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(await device.CookiesAsync(), cookie => cookie.Value.Contains(secret, StringComparison.Ordinal));
        await Expect(page.GetByLabel("Name", new() { Exact = true })).ToHaveValueAsync(string.Empty);
        var row = page.Locator($"tr[data-client-id='{clientId}']");
        await Expect(row).ToContainTextAsync(name);
        await Expect(row).ToContainTextAsync("introspect");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("Active");
        await Expect(page.Locator("tbody tr").First).ToHaveAttributeAsync("data-client-id", clientId);
        await Screenshots.SaveAsync(page, "admin-clients-secret");
        await AssertIntrospectsAsync(clientId, secret);

        // A reload asks for the page afresh: the secret is gone, the client stays.
        await page.ReloadAsync();
        await Expect(page.Locator("#issued-secret")).ToHaveCountAsync(0);
        await Expect(row).ToBeVisibleAsync();
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        // Rotated in its dialog: a new secret, and the previous one keeps working in the overlap.
        await row.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        var rotate = page.Locator($"dialog#rotate-{clientId}");
        await Expect(rotate).ToBeVisibleAsync();
        await Expect(rotate).ToContainTextAsync("The current secret keeps working for 1 hour");
        await rotate.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        var (rotatedId, rotated) = await IssuedAsync(page, name, rotation: true);
        Assert.Equal(clientId, rotatedId);
        Assert.NotEqual(secret, rotated);
        await Expect(page.Locator(".secret-once")).ToContainTextAsync("The previous secret keeps working until");
        await Expect(row.Locator(".previous-secret")).ToContainTextAsync("Previous secret works until");
        await Expect(row.Locator(".previous-secret time")).ToContainTextAsync("GMT+1");
        await AssertIntrospectsAsync(clientId, rotated);
        await AssertIntrospectsAsync(clientId, secret);
        await page.ReloadAsync();
        await Expect(page.Locator("#issued-secret")).ToHaveCountAsync(0);

        // Disabled in its dialog: refused at once, with either secret.
        await row.GetByRole(AriaRole.Button, new() { Name = "Disable" }).ClickAsync();
        var disable = page.Locator($"dialog#disable-{clientId}");
        await Expect(disable).ToContainTextAsync("Every use of its secrets is refused at once");
        await disable.GetByRole(AriaRole.Button, new() { Name = "Disable client" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"{name} was disabled: every use of its secrets is refused from now on.");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("Disabled");
        await Expect(row).ToContainTextAsync("since");
        await Expect(row.GetByRole(AriaRole.Button)).ToHaveCountAsync(0);
        await AssertRefusedAsync(clientId, rotated);
        await AssertRefusedAsync(clientId, secret);
        await Screenshots.SaveAsync(page, "admin-clients");

        var audit = await web.Server.AuditAsync(clientId);
        Assert.Equal(["client.disabled", "client.rotated", "client.created"], audit.Select(e => e.Action).Where(a => a.StartsWith("client.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_script_an_admin_creates_rotates_and_disables_a_client_through_confirmation_pages()
    {
        var name = "Reports " + Guid.NewGuid().ToString("N")[..8];
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, script: false);
        var page = await WebConsole.SignInAsync(device, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fclients");
        await AssertRefusedInputAsync(page, name);

        await page.Locator("input[name='scopes'][value='introspect']").CheckAsync();
        await page.Locator("input[name='scopes'][value='revoke']").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create client" }).ClickAsync();
        var (clientId, secret) = await IssuedAsync(page, name);
        var row = page.Locator($"tr[data-client-id='{clientId}']");
        await Expect(row).ToContainTextAsync("introspect, revoke");
        await AssertIntrospectsAsync(clientId, secret);

        // Asking for the page again shows no secret.
        await page.GotoAsync("/admin/clients");
        await Expect(page.Locator("#issued-secret")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        // Rotate: a confirmation page; Cancel changes nothing.
        await row.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($@"/admin/clients\?confirm=rotate-{clientId}$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync($"Rotate the secret of {name}?");
        await Screenshots.SaveAsync(page, "noscript-confirm-rotate-client");
        await page.GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/admin/clients$"));
        await Expect(row.Locator(".previous-secret")).ToHaveCountAsync(0);

        await row.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        var (_, rotated) = await IssuedAsync(page, name, rotation: true);
        Assert.NotEqual(secret, rotated);
        await Expect(row.Locator(".previous-secret")).ToContainTextAsync("Previous secret works until");
        await AssertIntrospectsAsync(clientId, rotated);
        await AssertIntrospectsAsync(clientId, secret);

        await page.GotoAsync("/admin/clients");
        await row.GetByRole(AriaRole.Button, new() { Name = "Disable" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($@"/admin/clients\?confirm=disable-{clientId}$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync($"Disable {name}?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable client" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/admin/clients$"));
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"{name} was disabled: every use of its secrets is refused from now on.");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("Disabled");
        await AssertRefusedAsync(clientId, rotated);
        await AssertRefusedAsync(clientId, secret);
    }

    [Fact]
    public async Task A_non_admin_gets_the_admins_only_page_and_cannot_create_a_client()
    {
        var email = WebConsole.NewEmail("noclients");
        await web.RegisterAsync(email, "Not An Admin");
        await using var device = await web.NewDeviceAsync();
        var page = await WebConsole.SignInAsync(device, email);
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Clients" })).ToHaveCountAsync(0);

        var response = await page.GotoAsync("/admin/clients");
        Assert.Equal(403, response!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Admins only" })).ToBeVisibleAsync();
        await Expect(page.Locator("table")).ToHaveCountAsync(0);

        var name = "Sneaky " + Guid.NewGuid().ToString("N")[..8];
        var token = await page.Locator("input[name='__RequestVerificationToken']").First.GetAttributeAsync("value");
        var post = await page.APIRequest.PostAsync("/admin/clients?handler=Create", new()
        {
            Form = page.APIRequest.CreateFormData().Set("__RequestVerificationToken", token!).Set("name", name).Set("scopes", "introspect"),
        });
        Assert.Equal(403, post.Status);
        Assert.DoesNotContain(name, await post.TextAsync(), StringComparison.Ordinal);

        using var admin = web.Server.Api(await web.Server.LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword));
        var clients = await admin.GetStringAsync("/v1/admin/clients", TestContext.Current.CancellationToken);
        Assert.DoesNotContain(name, clients, StringComparison.Ordinal);
    }

    /// <summary>An empty name, then no scope: each refused on its field, with the form as it was typed.</summary>
    private static async Task AssertRefusedInputAsync(IPage page, string name)
    {
        var nameField = page.GetByLabel("Name", new() { Exact = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Create client" }).ClickAsync();
        await Expect(page.Locator("#create-error")).ToHaveTextAsync("A name is required: say which app this client is.");
        await Expect(nameField).ToHaveAttributeAsync("aria-invalid", "true");

        await nameField.FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create client" }).ClickAsync();
        await Expect(page.Locator("#create-error")).ToHaveTextAsync("Choose at least one scope: what the client may do.");
        await Expect(page.Locator("fieldset[aria-invalid='true'] legend")).ToHaveTextAsync("Scopes");
        await Expect(nameField).ToHaveValueAsync(name);
        await Expect(page.Locator("#issued-secret")).ToHaveCountAsync(0);
    }

    /// <summary>The client id and secret the page shows after a creation or a rotation.</summary>
    private static async Task<(string ClientId, string Secret)> IssuedAsync(IPage page, string name, bool rotation = false)
    {
        var panel = page.Locator(".secret-once");
        await Expect(panel.GetByRole(AriaRole.Heading)).ToHaveTextAsync((rotation ? "New secret for " : "Client created: ") + name);
        await Expect(panel.GetByRole(AriaRole.Status)).ToContainTextAsync("Copy it now: it is not shown again.");
        var clientId = await page.Locator("#issued-client-id").TextContentAsync();
        var secret = await page.Locator("#issued-secret").TextContentAsync();
        Assert.StartsWith("cli_", clientId);
        Assert.Equal(43, secret!.Length);
        return (clientId!, secret);
    }

    private async Task<HttpResponseMessage> IntrospectAsync(string clientId, string secret)
    {
        using var client = web.Server.Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent([new("token", "not-a-session-token")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>The secret authenticates the client: a junk token is answered <c>{"active": false}</c>.</summary>
    private async Task AssertIntrospectsAsync(string clientId, string secret)
    {
        using var response = await IntrospectAsync(clientId, secret);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Introspection with the page's secret: {(int)response.StatusCode} {text}");
        Assert.False(JsonDocument.Parse(text).RootElement.GetProperty("active").GetBoolean());
    }

    private async Task AssertRefusedAsync(string clientId, string secret)
    {
        using var response = await IntrospectAsync(clientId, secret);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"Introspection by a disabled client: {(int)response.StatusCode} {text}");
        Assert.Equal("invalid_client", JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
    }
}
