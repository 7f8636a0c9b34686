using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>My sessions from two and three devices: who is "This device", and signing devices out, live.</summary>
public sealed class SessionsTests(WebConsole web)
{
    /// <summary>How long an open page may take to land on the sign-in page after its session ends elsewhere.</summary>
    private static readonly TimeSpan PushDeadline = TimeSpan.FromSeconds(2);

    private static LocatorAssertionsToHaveTextOptions Soon => new() { Timeout = (float)PushDeadline.TotalMilliseconds };

    [Fact]
    public async Task Each_device_sees_both_sessions_with_This_device_on_its_own_and_a_device_signed_out_lands_on_sign_in_at_once()
    {
        var email = WebConsole.NewEmail("two");
        await web.RegisterAsync(email, "Two Devices");
        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        await using var mac = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox);
        var onWindows = await WebConsole.SignInAsync(windows, email, path: "/login?returnUrl=%2Faccount%2Fsessions");
        var onMac = await WebConsole.SignInAsync(mac, email, path: "/login?returnUrl=%2Faccount%2Fsessions");

        // Each device sees both sessions, and "This device" on its own.
        await onWindows.ReloadAsync();
        await AssertSessionsAsync(onWindows, thisDevice: "Chrome on Windows", other: "Firefox on Mac OS X");
        await AssertSessionsAsync(onMac, thisDevice: "Firefox on Mac OS X", other: "Chrome on Windows");
        var windowsCard = onWindows.Locator("[data-this-device='true']");
        await Expect(windowsCard).ToContainTextAsync("Windows");
        await Expect(windowsCard).ToContainTextAsync("Chrome 142");
        await Expect(windowsCard).ToContainTextAsync("127.0.0.1");
        await Expect(windowsCard.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToHaveCountAsync(0);
        var lastActive = onWindows.Locator("[data-this-device='false'] time[data-relative]").First;
        await Expect(lastActive).ToHaveTextAsync(new Regex("^(just now|\\d+ minutes? ago)$"));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", await lastActive.GetAttributeAsync("datetime"));
        Assert.False(string.IsNullOrEmpty(await lastActive.GetAttributeAsync("title")), "the exact time shows on hover");
        await Screenshots.SaveAsync(onWindows, "sessions-two-devices");

        // Windows signs the Mac out; the Mac's open page goes to the sign-in page with the reason, at once.
        await WebConsole.WaitLiveAsync(onMac);
        var clock = Stopwatch.StartNew();
        await onWindows.Locator("[data-this-device='false']").GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(onMac.Locator("#ended-message")).ToHaveTextAsync("Your session was ended from another device.", Soon);
        Assert.True(clock.Elapsed < PushDeadline, $"The signed-out page took {clock.Elapsed.TotalMilliseconds:F0} ms to land on sign-in.");
        await Expect(onMac).ToHaveURLAsync(new Regex(@"/login\?ended=revoked_by_user&returnUrl=%2Faccount%2Fsessions$"));
        await Screenshots.SaveAsync(onMac, "login-after-remote-sign-out");

        await Expect(onWindows.GetByRole(AriaRole.Status)).ToHaveTextAsync("That device was signed out.");
        await Expect(onWindows.Locator(".session-card")).ToHaveCountAsync(1);

        // Signing in again on the Mac starts a new session and comes back to the sessions page.
        await WebConsole.SubmitSignInAsync(onMac, email, TesseraWebServer.Password);
        await Expect(onMac).ToHaveURLAsync(new Regex("/account/sessions$"));
        await Expect(onMac.Locator(".session-card")).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task Sign_out_all_devices_asks_first_and_then_signs_out_every_device()
    {
        var email = WebConsole.NewEmail("all");
        await web.RegisterAsync(email, "All Devices");
        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        await using var phone = await web.NewDeviceAsync(WebConsole.Devices.IPhoneSafari);
        var onWindows = await WebConsole.SignInAsync(windows, email);
        var onPhone = await WebConsole.SignInAsync(phone, email);
        await WebConsole.OpenLiveAsync(onPhone, "/account");
        await WebConsole.OpenLiveAsync(onWindows, "/account/sessions");

        // The dialog says what will happen, and Cancel changes nothing.
        var dialog = onWindows.Locator("#confirm-revoke-all");
        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog.GetByRole(AriaRole.Heading)).ToHaveTextAsync("Sign out all devices?");
        await Expect(dialog).ToContainTextAsync("Every device signed in to your account, including this one, will be signed out at once.");
        await Screenshots.SaveAsync(onWindows, "sessions-confirm-sign-out-all", fullPage: false);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(onWindows.Locator(".session-card")).ToHaveCountAsync(2);

        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();
        var clock = Stopwatch.StartNew();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" }).ClickAsync();

        await Expect(onPhone.Locator("#ended-message")).ToHaveTextAsync("You signed out of all devices.", Soon);
        Assert.True(clock.Elapsed < PushDeadline, $"The other device took {clock.Elapsed.TotalMilliseconds:F0} ms to land on sign-in.");
        await Expect(onWindows.Locator("#ended-message")).ToHaveTextAsync("You signed out of all devices.");
        await onWindows.GotoAsync("/account/sessions");
        await Expect(onWindows).ToHaveURLAsync(WebConsole.LoginPage());
        await onPhone.GotoAsync("/account");
        await Expect(onPhone).ToHaveURLAsync(WebConsole.LoginPage());
    }

    [Fact]
    public async Task Sign_out_of_all_other_devices_keeps_this_one_and_says_how_many()
    {
        var email = WebConsole.NewEmail("others");
        await web.RegisterAsync(email, "Other Devices");
        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        await using var mac = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox);
        await using var phone = await web.NewDeviceAsync(WebConsole.Devices.IPhoneSafari);
        var onWindows = await WebConsole.SignInAsync(windows, email);
        var onMac = await WebConsole.SignInAsync(mac, email);
        var onPhone = await WebConsole.SignInAsync(phone, email);
        await WebConsole.OpenLiveAsync(onMac, "/account/sessions");
        await WebConsole.OpenLiveAsync(onPhone, "/account");
        await onWindows.GotoAsync("/account/sessions");
        await Expect(onWindows.Locator(".session-card")).ToHaveCountAsync(3);

        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Sign out of all other devices" }).ClickAsync();
        var dialog = onWindows.Locator("#confirm-revoke-others");
        await Expect(dialog).ToContainTextAsync("All 2 other devices signed in to your account will be signed out at once. This device stays signed in.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Sign out other devices" }).ClickAsync();

        await Expect(onWindows.GetByRole(AriaRole.Status)).ToHaveTextAsync("Signed out of 2 other devices. This device stays signed in.");
        await Expect(onWindows.Locator(".session-card")).ToHaveCountAsync(1);
        await Expect(onWindows.Locator("[data-this-device='true']")).ToContainTextAsync("This device");
        await Expect(onWindows.GetByRole(AriaRole.Button, new() { Name = "Sign out of all other devices" })).ToBeDisabledAsync();
        await Expect(onMac.Locator("#ended-message")).ToHaveTextAsync("Your session was ended from another device.", Soon);
        await Expect(onPhone.Locator("#ended-message")).ToHaveTextAsync("Your session was ended from another device.", Soon);
    }

    [Fact]
    public async Task Changing_the_password_signs_the_other_devices_out_with_the_reason()
    {
        var email = WebConsole.NewEmail("password");
        await web.RegisterAsync(email, "Password Changer");
        await using var windows = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        await using var mac = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox);
        var onWindows = await WebConsole.SignInAsync(windows, email);
        var onMac = await WebConsole.SignInAsync(mac, email);
        await WebConsole.OpenLiveAsync(onMac, "/account/sessions");
        await onWindows.GotoAsync("/account");
        await Expect(onWindows.Locator("#password-note")).ToHaveTextAsync(
            "Changing your password signs out every other device signed in to your account. This device stays signed in.");

        await onWindows.GetByLabel("Current password", new() { Exact = true }).FillAsync("not-my-password-1");
        await onWindows.GetByLabel("New password", new() { Exact = true }).FillAsync("brand-new-password-2");
        await onWindows.GetByLabel("Repeat the new password").FillAsync("brand-new-password-2");
        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Expect(onWindows.GetByRole(AriaRole.Alert)).ToHaveTextAsync("The current password is wrong.");

        await onWindows.GetByLabel("Current password", new() { Exact = true }).FillAsync(TesseraWebServer.Password);
        await onWindows.GetByLabel("New password", new() { Exact = true }).FillAsync("brand-new-password-2");
        await onWindows.GetByLabel("Repeat the new password").FillAsync("brand-new-password-2");
        await onWindows.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();

        await Expect(onWindows.GetByRole(AriaRole.Status)).ToHaveTextAsync(
            "Your password was changed. Every other device signed in to your account was signed out.");
        await Expect(onMac.Locator("#ended-message")).ToHaveTextAsync(
            "Your password was changed, so this session was ended. Please sign in again.", Soon);
        await WebConsole.SubmitSignInAsync(onMac, email, "brand-new-password-2");
        await Expect(onMac).ToHaveURLAsync(new Regex("/account/sessions$"));
    }

    [Fact]
    public async Task A_page_opened_after_an_admin_ended_the_session_goes_to_sign_in_with_the_reason()
    {
        var email = WebConsole.NewEmail("stale");
        var userId = await web.RegisterAsync(email, "Stale Page");
        await using var device = await web.NewDeviceAsync();
        // Signed in, then the tab is closed: no event stream is open to bring the news.
        await (await WebConsole.SignInAsync(device, email)).CloseAsync();
        using (var admin = web.Server.Api(await web.Server.LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword)))
        {
            var response = await admin.DeleteAsync($"/v1/admin/users/{userId}/sessions", TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode);
        }

        // The page checks the session on every request, with the same validator as the API.
        var page = await device.NewPageAsync();
        await page.GotoAsync("/account/sessions");
        await Expect(page).ToHaveURLAsync(new Regex(@"/login\?ended=revoked_by_admin&returnUrl=%2Faccount%2Fsessions$"));
        await Expect(page.Locator("#ended-message")).ToHaveTextAsync("An administrator ended your session.");
        Assert.DoesNotContain(await device.CookiesAsync(), c => c.Name == "tessera_session");
    }

    [Fact]
    public async Task A_page_whose_event_stream_is_down_learns_when_it_reconnects_that_its_session_ended_meanwhile()
    {
        var email = WebConsole.NewEmail("offline");
        var userId = await web.RegisterAsync(email, "Went Offline");
        await using var device = await web.NewDeviceAsync(WebConsole.Devices.IPhoneSafari);
        var page = await WebConsole.SignInAsync(device, email);

        // The stream cannot get through (a flaky network): the browser keeps trying to reconnect.
        await page.RouteAsync("**/v1/events", route => route.AbortAsync("internetdisconnected"));
        await page.GotoAsync("/account/sessions");
        await Expect(page.Locator("html[data-live='reconnecting']")).ToHaveCountAsync(1);
        using (var admin = web.Server.Api(await web.Server.LoginAsync(TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword)))
        {
            var response = await admin.DeleteAsync($"/v1/admin/users/{userId}/sessions", TestContext.Current.CancellationToken);
            Assert.True(response.IsSuccessStatusCode);
        }

        // The network is back: the reconnect is refused (401), the page asks once why, and goes to sign in with the reason.
        await page.UnrouteAllAsync();
        await Expect(page.Locator("#ended-message")).ToHaveTextAsync("An administrator ended your session.", new() { Timeout = 15_000 });
        await Expect(page).ToHaveURLAsync(new Regex(@"/login\?ended=revoked_by_admin&returnUrl=%2Faccount%2Fsessions$"));
    }

    [Fact]
    public async Task The_confirmation_dialogs_work_from_the_keyboard()
    {
        var email = WebConsole.NewEmail("keys");
        await web.RegisterAsync(email, "Keyboard User");
        await using var device = await web.NewDeviceAsync();
        var page = await WebConsole.SignInAsync(device, email, path: "/login?returnUrl=%2Faccount%2Fsessions");
        var trigger = page.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" });
        var dialog = page.Locator("#confirm-revoke-all");

        await trigger.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(dialog).ToBeVisibleAsync();
        // The safe choice has the focus; the dialog is modal and names itself.
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToBeFocusedAsync();
        await Expect(page.GetByRole(AriaRole.Dialog, new() { Name = "Sign out all devices?" })).ToBeVisibleAsync();

        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(trigger).ToBeFocusedAsync();

        await page.Keyboard.PressAsync("Enter");
        await Expect(dialog).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Sign out all devices" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#ended-message")).ToHaveTextAsync("You signed out of all devices.");
    }

    private static async Task AssertSessionsAsync(IPage page, string thisDevice, string other)
    {
        await Expect(page.Locator(".session-card")).ToHaveCountAsync(2);
        var mine = page.Locator("[data-this-device='true']");
        await Expect(mine).ToHaveCountAsync(1);
        await Expect(mine.Locator(".session-name")).ToHaveTextAsync(new Regex($@"^\s*{Regex.Escape(thisDevice)}\s+This device\s*$"));
        var theirs = page.Locator("[data-this-device='false']");
        await Expect(theirs.Locator(".session-name")).ToHaveTextAsync(new Regex($@"^\s*{Regex.Escape(other)}\s*$"));
        await Expect(theirs.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
    }
}
