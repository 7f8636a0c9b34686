using System.Net;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>
/// With JavaScript off in the browser (or the script blocked or failed), every action still works: each opener is a
/// plain form that leads to a confirmation page, whose Confirm posts the same form the dialog holds.
/// </summary>
public sealed class WithoutScriptTests(WebConsole web)
{
    [Fact]
    public async Task Without_script_signing_out_other_devices_and_then_all_devices_goes_through_confirmation_pages()
    {
        var email = WebConsole.NewEmail("noscript");
        var userId = await web.RegisterAsync(email, "No Script");
        var phoneToken = await web.Server.LoginAsync(email, userAgent: WebConsole.Devices.IPhoneSafari);
        var macToken = await web.Server.LoginAsync(email, userAgent: WebConsole.Devices.MacFirefox);
        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, script: false);
        var page = await WebConsole.SignInAsync(windows, email, path: "/login?returnUrl=%2Faccount%2Fsessions");
        await Expect(page.Locator(".session-card")).ToHaveCountAsync(3);

        // The opener leads to a page that says what will happen; Cancel goes back and changes nothing.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out of all other devices" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/account/sessions\?confirm=confirm-revoke-others$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign out of all other devices?");
        await Expect(page.Locator("#confirm-revoke-others")).ToContainTextAsync("All 2 other devices signed in to your account will be signed out at once.");
        await Screenshots.SaveAsync(page, "noscript-confirm-sign-out-others");
        await page.GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/account/sessions$"));
        await Expect(page.Locator(".session-card")).ToHaveCountAsync(3);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out of all other devices" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out other devices" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Signed out of 2 other devices. This device stays signed in.");
        await Expect(page.Locator(".session-card")).ToHaveCountAsync(1);
        await AssertRefusedAsync(phoneToken);
        await AssertRefusedAsync(macToken);
        Assert.Contains(await web.Server.AuditAsync(userId), e => e is ("session.revoked", "signed_out_other_devices"));

        // Sign out all devices: confirmed on its page, and this device lands on sign-in, told why.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign out all devices?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();
        await Expect(page.Locator("#ended-message")).ToHaveTextAsync("You signed out of all devices.");
        Assert.Contains(await web.Server.AuditAsync(userId), e => e is ("session.revoked", "signed_out_all_devices"));
        await page.GotoAsync("/account/sessions");
        await Expect(page).ToHaveURLAsync(WebConsole.LoginPage());
    }

    [Fact]
    public async Task Without_script_an_admin_deactivates_reactivates_bans_unbans_ends_sessions_and_deletes_through_confirmation_pages()
    {
        var email = WebConsole.NewEmail("target");
        var userId = await web.RegisterAsync(email, "Target Person");
        await using var laptop = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, script: false);
        var page = await WebConsole.SignInAsync(laptop, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%2F{userId}");

        async Task DecideAsync(string opener, string heading, string confirm, string notice)
        {
            await page.Locator(".page-head, .panel-head").GetByRole(AriaRole.Button, new() { Name = opener, Exact = true }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(heading);
            await page.GetByRole(AriaRole.Button, new() { Name = confirm, Exact = true }).ClickAsync();
            await Expect(page).ToHaveURLAsync($"{web.BaseUrl}/admin/users/{userId}");
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync(notice);
        }

        var token = await web.Server.LoginAsync(email);
        await DecideAsync("Deactivate", "Deactivate Target Person?", "Deactivate", "Target Person was deactivated and signed out of 1 session.");
        await AssertRefusedAsync(token);
        await DecideAsync("Reactivate", "Reactivate Target Person?", "Reactivate", "Target Person was reactivated and can sign in again.");

        token = await web.Server.LoginAsync(email);
        await page.Locator(".page-head").GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Ban Target Person?");
        await page.GetByLabel("Reason").FillAsync("Spam, without script");
        await Screenshots.SaveAsync(page, "noscript-confirm-ban");
        await page.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Target Person was banned until unbanned and signed out of 1 session.");
        await AssertRefusedAsync(token);
        await DecideAsync("Unban", "Unban Target Person?", "Unban", "Target Person was unbanned and can sign in again.");

        token = await web.Server.LoginAsync(email);
        await page.ReloadAsync();
        await DecideAsync("End all sessions", "End all sessions of Target Person?", "End all sessions", "Ended 1 session.");
        await AssertRefusedAsync(token);

        token = await web.Server.LoginAsync(email);
        await page.ReloadAsync();
        await DecideAsync("Delete", "Delete Target Person?", "Delete account", "The account was deleted and 1 session was ended.");
        await AssertRefusedAsync(token);

        var audit = await web.Server.AuditAsync(userId);
        foreach (var action in new[] { "user.deactivated", "user.reactivated", "user.banned", "user.unbanned", "user.deleted" })
        {
            Assert.Contains(audit, e => e.Action == action);
        }

        Assert.Contains(audit, e => e is ("session.revoked", "revoked_by_admin"));
        Assert.Contains(audit, e => e is ("user.banned", "Spam, without script"));
    }

    [Fact]
    public async Task Without_script_a_bulk_action_applies_to_the_users_selected()
    {
        var first = WebConsole.NewEmail("bulk-a");
        var second = WebConsole.NewEmail("bulk-b");
        var firstId = await web.RegisterAsync(first, "Bulk A");
        var secondId = await web.RegisterAsync(second, "Bulk B");
        var token = await web.Server.LoginAsync(first);
        await using var laptop = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox, script: false);
        var page = await WebConsole.SignInAsync(laptop, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fusers%3Fq%3Dbulk-");

        await page.GetByLabel($"Select {first}").CheckAsync();
        await page.GetByLabel($"Select {second}").CheckAsync();
        await page.GetByLabel("Action").SelectOptionAsync("revoke_sessions");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply to selected" }).ClickAsync();

        // Nothing yet: a page says what will happen.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Sign out 2 users?");
        await Expect(page.Locator("#confirm-bulk")).ToContainTextAsync("Every session they have ends at once; they can sign in again.");
        await Screenshots.SaveAsync(page, "noscript-confirm-bulk");
        using (var client = web.Server.Api(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/auth/session", TestContext.Current.CancellationToken)).StatusCode);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out 2 users" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"/admin/users$"));
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("2 users signed out.");
        await AssertRefusedAsync(token);
        Assert.Contains(await web.Server.AuditAsync(firstId), e => e is ("session.revoked", "revoked_by_admin"));
        Assert.Contains(await web.Server.AuditAsync(secondId), e => e.Action == "user.registered");
    }

    private async Task AssertRefusedAsync(string token)
    {
        using var client = web.Server.Api(token);
        var response = await client.GetAsync("/v1/auth/session", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
