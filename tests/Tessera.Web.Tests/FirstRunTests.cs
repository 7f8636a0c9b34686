using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>A fresh install started without bootstrap settings: the way to its first administrator.</summary>
public sealed class FirstRunTests(WebConsole web)
{
    [Fact]
    public async Task On_a_fresh_start_the_first_run_page_makes_the_first_admin_from_this_machine_and_is_gone_once_one_exists()
    {
        await using var server = new TesseraWebServer(bootstrapAdmin: false);
        server.Start();
        await using var laptop = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, server.BaseUrl);
        var page = await laptop.NewPageAsync();

        // The console's front door leads there while there is no admin; from this machine no code is asked for.
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync($"{server.BaseUrl}/setup");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Create the first administrator" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Setup code")).ToHaveCountAsync(0);
        await Screenshots.SaveAsync(page, "setup-fresh-start");

        // The ordinary registration rules hold.
        await page.GetByLabel("Email").FillAsync("root@example.com");
        await page.GetByLabel("Password").FillAsync("short");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create administrator" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password")).ToHaveAttributeAsync("aria-invalid", "true");

        await page.GetByLabel("Display name").FillAsync("Root Admin");
        await page.GetByLabel("Password").FillAsync("root-quartz-lantern-9");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create administrator" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{server.BaseUrl}/admin/users");
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync(
            "You are Tessera's first administrator, and signed in on this device. The first-run page is gone for good.");
        await Expect(page.Locator("tbody tr")).ToContainTextAsync(["Root Admin"]);
        await page.GotoAsync("/admin/audit");
        await Expect(page.Locator("tbody")).ToContainTextAsync("user.registered");

        // Gone: the page, its form, and the front door leads to the account again.
        var gone = await page.GotoAsync("/setup");
        Assert.Equal(404, gone!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Page not found" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password")).ToHaveCountAsync(0);
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Regex("/account$"));
    }

    [Fact]
    public async Task With_an_admin_already_there_the_first_run_page_is_not_found_and_cannot_be_posted_to()
    {
        await using var device = await web.NewDeviceAsync();
        var page = await device.NewPageAsync();
        var response = await page.GotoAsync("/setup");
        Assert.Equal(404, response!.Status);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Page not found" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Email")).ToHaveCountAsync(0);

        // A post with a valid antiforgery token (from the sign-in page's form) still makes no admin.
        await page.GotoAsync("/login");
        var token = await page.Locator("input[name='__RequestVerificationToken']").InputValueAsync();
        var email = WebConsole.NewEmail("intruder");
        var posted = await page.APIRequest.PostAsync("/setup", new()
        {
            Form = device.APIRequest.CreateFormData().Set("__RequestVerificationToken", token).Set("Email", email).Set("Password", "intruder-password"),
        });
        Assert.Equal(404, posted.Status);
        await page.GotoAsync("/login");
        await WebConsole.SubmitSignInAsync(page, email, "intruder-password");
        await Expect(page.Locator("#login-error")).ToHaveTextAsync("Wrong email or password.");
    }
}
