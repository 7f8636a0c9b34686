namespace Tessera.Web.Tests;

/// <summary>Signing up, signing in and out, and what the sign-in page says when it refuses.</summary>
public sealed class SignInTests(WebConsole web)
{
    [Fact]
    public async Task Signing_up_creates_the_account_and_signs_in_on_this_device()
    {
        var email = WebConsole.NewEmail("signup");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        await page.GotoAsync("/login");
        await page.GetByRole(AriaRole.Link, new() { Name = "Create an account" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/register$"));

        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Display name").FillAsync("Grace Hopper");
        await page.GetByLabel("Password").FillAsync(TesseraWebServer.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account$"));
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Your account is ready");
        await Expect(page.Locator(".facts")).ToContainTextAsync("Grace Hopper");
        await Expect(page.Locator(".facts")).ToContainTextAsync(email);
        await Screenshots.SaveAsync(page, "account");

        // The session is the API's own: the cookie is HttpOnly, SameSite=Lax, and the whoami answers with it.
        var cookie = Assert.Single(await device.CookiesAsync(), c => c.Name == "tessera_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        var whoami = await page.APIRequest.GetAsync("/v1/auth/session");
        Assert.Equal(200, whoami.Status);
        Assert.Contains(email, await whoami.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_up_with_a_taken_email_says_so_and_keeps_what_was_typed()
    {
        var email = WebConsole.NewEmail("taken");
        await web.RegisterAsync(email, "First");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        await page.GotoAsync("/register");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(TesseraWebServer.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("An account with this email already exists.");
        await Expect(page.GetByRole(AriaRole.Alert).GetByRole(AriaRole.Link, new() { Name = "Sign in" })).ToHaveAttributeAsync("href", "/login");
        await Expect(page.GetByRole(AriaRole.Alert).GetByRole(AriaRole.Link, new() { Name = "reset its password" })).ToHaveAttributeAsync("href", "/forgot-password");
        await Expect(page.GetByLabel("Email")).ToHaveValueAsync(email);
        await Expect(page.GetByLabel("Email")).ToHaveAttributeAsync("aria-invalid", "true");
    }

    [Fact]
    public async Task A_wrong_password_and_an_unknown_email_get_the_same_message()
    {
        var email = WebConsole.NewEmail("wrong");
        await web.RegisterAsync(email, "Wrong Password");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();

        await page.GotoAsync("/login");
        await WebConsole.SubmitSignInAsync(page, email, "not-the-password-1");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");

        await WebConsole.SubmitSignInAsync(page, WebConsole.NewEmail("nobody"), "not-the-password-1");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");
        await Expect(page.GetByLabel("Password")).ToHaveValueAsync(string.Empty);
    }

    [Fact]
    public async Task A_deactivated_or_banned_account_is_told_so_at_sign_in()
    {
        var deactivated = WebConsole.NewEmail("deact");
        var deactivatedId = await web.RegisterAsync(deactivated, "Deactivated Person");
        await web.Server.AdminPostAsync($"/v1/admin/users/{deactivatedId}/deactivate");
        var banned = WebConsole.NewEmail("banned");
        var bannedId = await web.RegisterAsync(banned, "Banned Person");
        await web.Server.AdminPostAsync($"/v1/admin/users/{bannedId}/ban", new { until = "2031-05-06T07:08:00Z", reason = "spam" });
        var forever = WebConsole.NewEmail("forever");
        var foreverId = await web.RegisterAsync(forever, "Banned Forever");
        await web.Server.AdminPostAsync($"/v1/admin/users/{foreverId}/ban");

        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        await page.GotoAsync("/login");
        await WebConsole.SubmitSignInAsync(page, deactivated, TesseraWebServer.Password);
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your account has been deactivated.");

        await WebConsole.SubmitSignInAsync(page, banned, TesseraWebServer.Password);
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your account is banned until 2031-05-06 07:08 UTC.");

        await WebConsole.SubmitSignInAsync(page, forever, TesseraWebServer.Password);
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your account is banned.");
        await Screenshots.SaveAsync(page, "login-refused");
    }

    [Fact]
    public async Task Too_many_attempts_are_told_how_long_to_wait()
    {
        // A server of its own with a small per-IP limit, so the rest of the suite keeps signing in freely.
        await using var server = new TesseraWebServer(new Dictionary<string, string?> { ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "3" });
        server.Start();
        var email = WebConsole.NewEmail("throttled");
        await server.RegisterAsync(email, "Throttled");
        await using var device = await WebConsole.NewDeviceAsync(web.Browser, null, server.BaseUrl);
        var page = await device.NewPageAsync();
        await page.GotoAsync("/login");
        for (var attempt = 0; attempt < 3; attempt++)
        {
            await WebConsole.SubmitSignInAsync(page, email, "not-the-password-1");
            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");
        }

        await WebConsole.SubmitSignInAsync(page, email, TesseraWebServer.Password);
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^Too many attempts, try again in \d+ seconds\.$"));
        await Expect(page).ToHaveURLAsync(WebConsole.LoginPage());
    }

    [Fact]
    public async Task A_signed_out_visitor_to_my_sessions_signs_in_and_comes_back_to_it()
    {
        var email = WebConsole.NewEmail("visitor");
        await web.RegisterAsync(email, "Visitor");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();

        await page.GotoAsync("/account/sessions");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(@"/login\?returnUrl=%2Faccount%2Fsessions$"));
        await WebConsole.SubmitSignInAsync(page, email, TesseraWebServer.Password);

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/sessions$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Active sessions" })).ToBeVisibleAsync();
    }

    [Theory]
    [InlineData("https://evil.example/phish")]
    [InlineData("//evil.example/phish")]
    [InlineData(@"/\evil.example/phish")]
    public async Task A_return_url_that_leaves_the_site_is_ignored(string returnUrl)
    {
        var email = WebConsole.NewEmail("return");
        await web.RegisterAsync(email, "Return");
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();

        await page.GotoAsync("/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        await WebConsole.SubmitSignInAsync(page, email, TesseraWebServer.Password);

        await Expect(page).ToHaveURLAsync($"{web.BaseUrl}/account");
    }

    [Fact]
    public async Task Signing_out_ends_the_session_and_says_so()
    {
        var email = WebConsole.NewEmail("signout");
        await web.RegisterAsync(email, "Signing Out");
        await using var device = await web.NewDeviceAsync();
        var page = await WebConsole.SignInAsync(device, email);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(WebConsole.LoginPage());
        await Expect(page.Locator("#ended-message")).ToHaveTextAsync("You signed out.");
        Assert.DoesNotContain(await device.CookiesAsync(), c => c.Name == "tessera_session");
        await page.GotoAsync("/account");
        await Expect(page).ToHaveURLAsync(WebConsole.LoginPage());
    }

    [Fact]
    public async Task A_form_posted_without_its_antiforgery_token_is_refused()
    {
        var email = WebConsole.NewEmail("csrf");
        await web.RegisterAsync(email, "Forged");
        using var client = web.Server.Api();
        var response = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Email"] = email,
            ["Password"] = TesseraWebServer.Password,
        }), TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("tessera_session=", StringComparison.Ordinal)));
    }
}
