using Microsoft.Extensions.Time.Testing;

namespace Tessera.Web.Tests;

/// <summary>
/// The main pages with people in them, on a desktop (1280 px) and a phone (390 px), saved under artifacts/screenshots for
/// a person to look at; the sessions page, the admin users page and the first-run page also go to docs/screenshots for the
/// README.
/// </summary>
public sealed class ScreenshotTour(WebConsole web)
{
    private static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    [Fact]
    public async Task The_main_pages_render_on_a_desktop_and_on_a_phone_without_sideways_scrolling()
    {
        // A server of its own whose clock starts six weeks ago, so that accounts and sessions have a history.
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(now.AddDays(-42));
        await using var server = new TesseraWebServer(clock: clock);
        server.Start();

        string? adaId = null;
        var people = new (string Name, string Email)[]
        {
            ("Ada Lovelace", "ada.lovelace@example.com"), ("Alan Turing", "alan.turing@example.com"),
            ("Grace Hopper", "grace.hopper@example.com"), ("Katherine Johnson", "katherine.johnson@example.com"),
            ("Linus Torvalds", "linus.torvalds@example.com"), ("Margaret Hamilton", "margaret.hamilton@example.com"),
            ("Dennis Ritchie", "dennis.ritchie@example.com"), ("Barbara Liskov", "barbara.liskov@example.com"),
            ("Edsger Dijkstra", "edsger.dijkstra@example.com"), ("Radia Perlman", "radia.perlman@example.com"),
        };
        var ids = new Dictionary<string, string>();
        foreach (var (name, email) in people)
        {
            ids[name] = await server.RegisterAsync(email, name);
            adaId ??= ids[name];
            clock.Advance(TimeSpan.FromDays(3.7));
        }

        clock.SetUtcNow(now.AddDays(-2).AddHours(-5));
        await server.LoginAsync("ada.lovelace@example.com", userAgent: WebConsole.Devices.MacFirefox);
        clock.SetUtcNow(now.AddHours(-3));
        await server.LoginAsync("ada.lovelace@example.com", userAgent: WebConsole.Devices.IPhoneSafari);
        await server.LoginAsync("grace.hopper@example.com", userAgent: WebConsole.Devices.WindowsChrome);
        clock.SetUtcNow(now.AddMinutes(-47));
        await server.AdminPostAsync($"/v1/admin/users/{ids["Grace Hopper"]}/ban", new { until = now.AddDays(6).ToString("O"), reason = "Posted other people's keys" });
        await server.AdminPostAsync($"/v1/admin/users/{ids["Linus Torvalds"]}/deactivate", new { reason = "Left the team" });
        await server.AdminPostAsync($"/v1/admin/users/{ids["Edsger Dijkstra"]}/ban", new { reason = "Considered harmful" });
        await server.AdminPostAsync("/v1/admin/clients", new { name = "Billing API", scopes = new[] { "introspect", "revoke" } });
        await server.AdminPostAsync("/v1/admin/clients", new { name = "Support dashboard", scopes = new[] { "introspect", "revocations" } });
        clock.SetUtcNow(now.AddMinutes(-3));
        await server.LoginAsync("ada.lovelace@example.com", userAgent: WebConsole.Devices.WindowsChrome.Replace("Windows NT 10.0; Win64; x64", "X11; Linux x86_64", StringComparison.Ordinal));
        clock.SetUtcNow(DateTimeOffset.UtcNow);

        // Signed out: the sign-in and sign-up pages.
        await using var laptop = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.WindowsChrome, server.BaseUrl);
        var page = await laptop.NewPageAsync();
        await page.GotoAsync("/login?ended=revoked_by_user");
        await CheckAsync(page, "tour-login");
        await page.GotoAsync("/register");
        await CheckAsync(page, "tour-register");

        // Ada: her account and her sessions, on the laptop and on the phone.
        await page.GotoAsync("/login");
        await WebConsole.SubmitSignInAsync(page, "ada.lovelace@example.com", TesseraWebServer.Password);
        await Expect(page).ToHaveURLAsync($"{server.BaseUrl}/account");
        await CheckAsync(page, "tour-account");
        await page.GotoAsync("/account/sessions");
        await Expect(page.Locator(".session-card")).ToHaveCountAsync(4);
        await Expect(page.Locator(".session-card time[data-relative]")).ToContainTextAsync(["3 minutes ago", "3 hours ago", "2 days ago"]);
        Screenshots.PublishToDocs(await CheckAsync(page, "sessions"));
        await page.GotoAsync("/admin/users");
        await CheckAsync(page, "tour-forbidden");

        await using var phone = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.IPhoneSafari, server.BaseUrl, Phone);
        var onPhone = await phone.NewPageAsync();
        await onPhone.GotoAsync("/login?returnUrl=%2Faccount%2Fsessions");
        await WebConsole.SubmitSignInAsync(onPhone, "ada.lovelace@example.com", TesseraWebServer.Password);
        await Expect(onPhone.Locator(".session-card")).ToHaveCountAsync(5);
        await CheckAsync(onPhone, "tour-sessions-phone", phone: true);
        await onPhone.GotoAsync("/account");
        await CheckAsync(onPhone, "tour-account-phone", phone: true);
        await onPhone.GotoAsync("/account/sessions?confirm=confirm-revoke-all");
        await CheckAsync(onPhone, "tour-sessions-phone-confirm-page", phone: true);
        await onPhone.GotoAsync("/account/sessions");
        await onPhone.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();
        await CheckAsync(onPhone, "tour-sessions-phone-dialog", phone: true, fullPage: false);

        // The admin console.
        await using var adminLaptop = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.MacFirefox, server.BaseUrl);
        var admin = await adminLaptop.NewPageAsync();
        await admin.GotoAsync("/login?returnUrl=%2Fadmin%2Fusers");
        await WebConsole.SubmitSignInAsync(admin, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword);
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(11);
        await admin.GetByLabel("Select ada.lovelace@example.com").CheckAsync();
        await admin.GetByLabel("Select alan.turing@example.com").CheckAsync();
        Screenshots.PublishToDocs(await CheckAsync(admin, "admin-users"));
        await admin.GotoAsync($"/admin/users/{ids["Grace Hopper"]}");
        await CheckAsync(admin, "tour-admin-user");
        await admin.GotoAsync($"/admin/users/{ids["Ada Lovelace"]}");
        await CheckAsync(admin, "tour-admin-user-sessions");
        await admin.GotoAsync("/admin/clients");
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(2);
        await CheckAsync(admin, "tour-admin-clients");
        await admin.GotoAsync("/admin/audit");
        await CheckAsync(admin, "tour-admin-audit");

        await using var adminPhone = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.IPhoneSafari, server.BaseUrl, Phone);
        var adminOnPhone = await adminPhone.NewPageAsync();
        await adminOnPhone.GotoAsync("/login?returnUrl=%2Fadmin%2Fusers%3Fstatus%3Dbanned");
        await WebConsole.SubmitSignInAsync(adminOnPhone, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword);
        await Expect(adminOnPhone.Locator("tbody tr")).ToHaveCountAsync(2);
        await CheckAsync(adminOnPhone, "tour-admin-users-phone", phone: true);
        await adminOnPhone.GotoAsync($"/admin/users/{ids["Grace Hopper"]}");
        await CheckAsync(adminOnPhone, "tour-admin-user-phone", phone: true);
        await adminOnPhone.GotoAsync($"/admin/users/{ids["Ada Lovelace"]}?confirm=confirm-ban");
        await CheckAsync(adminOnPhone, "tour-admin-user-phone-confirm-ban-page", phone: true);
        await adminOnPhone.GotoAsync("/admin/clients");
        await CheckAsync(adminOnPhone, "tour-admin-clients-phone", phone: true);
        await adminOnPhone.GotoAsync("/admin/audit");
        await CheckAsync(adminOnPhone, "tour-admin-audit-phone", phone: true);

        // Signed out, on the phone.
        await using var signedOutPhone = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.IPhoneSafari, server.BaseUrl, Phone);
        var signedOut = await signedOutPhone.NewPageAsync();
        await signedOut.GotoAsync("/login?ended=revoked_by_user");
        await CheckAsync(signedOut, "tour-login-phone", phone: true);
        await signedOut.GotoAsync("/register");
        await CheckAsync(signedOut, "tour-register-phone", phone: true);
    }

    [Fact]
    public async Task The_first_run_page_renders_on_a_desktop_and_on_a_phone_without_sideways_scrolling()
    {
        await using var server = new TesseraWebServer(bootstrapAdmin: false);
        server.Start();
        await using var laptop = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.WindowsChrome, server.BaseUrl);
        var page = await laptop.NewPageAsync();
        await page.GotoAsync("/setup");
        Screenshots.PublishToDocs(await CheckAsync(page, "setup"));

        await using var phone = await WebConsole.NewDeviceAsync(web.Browser, WebConsole.Devices.IPhoneSafari, server.BaseUrl, Phone);
        var onPhone = await phone.NewPageAsync();
        await onPhone.GotoAsync("/setup");
        await CheckAsync(onPhone, "tour-setup-phone", phone: true);

        // From elsewhere, the prompt for the code.
        await phone.SetExtraHTTPHeadersAsync([new("X-Forwarded-For", "203.0.113.7")]);
        await onPhone.GotoAsync("/setup");
        await Expect(onPhone.GetByLabel("Setup code")).ToBeVisibleAsync();
        await CheckAsync(onPhone, "tour-setup-code-phone", phone: true);
    }

    /// <summary>Saves the page and checks what a screenshot would not show: nothing wider than the screen.</summary>
    private static async Task<string> CheckAsync(IPage page, string name, bool phone = false, bool fullPage = true)
    {
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        if (phone)
        {
            // The users table scrolls inside its own box; the page itself never scrolls sideways.
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 0, $"{name} is {overflow}px wider than a phone screen.");
        }

        return await Screenshots.SaveAsync(page, name, fullPage);
    }
}
