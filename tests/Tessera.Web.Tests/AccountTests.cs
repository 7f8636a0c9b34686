using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>What a person does with their own account beyond signing in: passwords, a forgotten one, their name.</summary>
public sealed class AccountTests(WebConsole web)
{
    [Fact]
    public async Task A_weak_password_is_refused_at_registration_with_the_same_reason_the_API_gives()
    {
        using var api = web.Server.Api();
        var apiAnswer = await api.PostAsJsonAsync("/v1/auth/register", new { email = WebConsole.NewEmail("weakapi"), password = "qwertyuiop" }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, apiAnswer.StatusCode);
        var problem = JsonDocument.Parse(await apiAnswer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;
        Assert.Equal("weak_password", problem.GetProperty("code").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("most common passwords", detail, StringComparison.Ordinal);

        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        await page.GotoAsync("/register");
        var email = WebConsole.NewEmail("weakpage");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("qwertyuiop");
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync(), r => r.Request.Method == "POST");

        Assert.Equal(400, response.Status);
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(detail);
        await Expect(page.GetByLabel("Password")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.GetByLabel("Email")).ToHaveValueAsync(email);
    }

    [Fact]
    public async Task A_forgotten_password_is_reset_through_the_link_in_the_message_and_a_weak_new_one_is_refused()
    {
        var email = WebConsole.NewEmail("forgot");
        await web.RegisterAsync(email, "Forgetful Person");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Link, new() { Name = "Forgot password?" }).ClickAsync();
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("If an account uses that email address, a message with a link");

        // An address without an account gets the very same answer.
        await page.GotoAsync("/forgot-password");
        await page.GetByLabel("Email").FillAsync(WebConsole.NewEmail("nobody"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("If an account uses that email address, a message with a link");

        await page.GotoAsync(await web.Server.ReadResetLinkAsync(email));
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("Password1");
        await page.GetByLabel("Repeat the new password").FillAsync("Password1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set the new password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("This is one of the most common passwords");

        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("violet-lantern-orbit-42");
        await page.GetByLabel("Repeat the new password").FillAsync("violet-lantern-orbit-42");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set the new password" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(WebConsole.LoginPage());
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Your password was changed and every device was signed out. Sign in with the new password.");

        await WebConsole.SubmitSignInAsync(page, email, "violet-lantern-orbit-42");
        await Expect(page).ToHaveURLAsync(new Regex("/account$"));

        // The link is used up.
        await page.GotoAsync(await web.Server.ReadResetLinkAsync(email));
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("another-violet-lantern-7");
        await page.GetByLabel("Repeat the new password").FillAsync("another-violet-lantern-7");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set the new password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("The reset token is invalid or has expired.");
        await Expect(page.GetByRole(AriaRole.Alert).GetByRole(AriaRole.Link, new() { Name = "Ask for a new link" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_person_changes_their_display_name_on_the_account_page_and_every_page_shows_it()
    {
        var email = WebConsole.NewEmail("rename");
        await web.RegisterAsync(email, "Old Name");
        await using var device = await web.NewDeviceAsync();
        var page = await WebConsole.SignInAsync(device, email);
        await Expect(page.Locator(".site-user")).ToHaveTextAsync("Old Name");

        await page.GetByLabel("Display name").FillAsync("   ");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save name" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Enter a display name.");

        await page.GetByLabel("Display name").FillAsync("New Name");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save name" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Your display name was changed.");
        await Expect(page.Locator(".facts")).ToContainTextAsync("New Name");
        await Expect(page.Locator(".site-user")).ToHaveTextAsync("New Name");
        var whoami = await page.APIRequest.GetAsync("/v1/auth/session");
        Assert.Equal("New Name", JsonDocument.Parse(await whoami.TextAsync()).RootElement.GetProperty("user").GetProperty("displayName").GetString());
    }

    [Fact]
    public async Task An_unknown_address_shows_a_page_to_a_browser_and_problem_json_to_an_API_client()
    {
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();

        var response = await page.GotoAsync("/no-such-page");

        Assert.Equal(404, response!.Status);
        Assert.StartsWith("text/html", response.Headers["content-type"], StringComparison.Ordinal);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Page not found");
        await Expect(page).ToHaveTitleAsync("Page not found · Tessera");

        using var api = web.Server.Api();
        var apiAnswer = await api.GetAsync("/v1/no-such-thing", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, apiAnswer.StatusCode);
        Assert.Equal("application/problem+json", apiAnswer.Content.Headers.ContentType?.MediaType);
        using var browserOnApi = new HttpRequestMessage(HttpMethod.Get, "/v1/no-such-thing");
        browserOnApi.Headers.TryAddWithoutValidation("Accept", "text/html,*/*;q=0.8");
        Assert.Equal("application/problem+json", (await api.SendAsync(browserOnApi, TestContext.Current.CancellationToken)).Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task On_a_390_pixel_wide_phone_the_header_still_shows_who_is_signed_in()
    {
        var email = WebConsole.NewEmail("phone");
        await web.RegisterAsync(email, "Pocket Person");
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.IPhoneSafari, viewport: new ViewportSize { Width = 390, Height = 844 });
        var page = await WebConsole.SignInAsync(device, email);

        await Expect(page.Locator(".site-user")).ToBeVisibleAsync();
        await Expect(page.Locator(".site-user")).ToHaveTextAsync("Pocket Person");
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= innerWidth"), "The page is wider than the phone.");
    }
}
