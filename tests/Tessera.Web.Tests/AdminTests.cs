using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests;

/// <summary>The admin console: who may open it, decisions about users and how fast they land, bulk actions, the audit log.</summary>
public sealed class AdminTests(WebConsole web)
{
    private static readonly TimeSpan PushDeadline = TimeSpan.FromSeconds(2);

    private static LocatorAssertionsToHaveTextOptions Soon => new() { Timeout = (float)PushDeadline.TotalMilliseconds };

    [Fact]
    public async Task A_non_admin_gets_no_admin_page()
    {
        var email = WebConsole.NewEmail("member");
        var userId = await web.RegisterAsync(email, "Plain Member");
        await using var device = await web.NewDeviceAsync();
        var page = await WebConsole.SignInAsync(device, email);
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Users" })).ToHaveCountAsync(0);

        foreach (var path in new[] { "/admin/users", $"/admin/users/{userId}", "/admin/audit" })
        {
            var response = await page.GotoAsync(path);
            Assert.Equal(403, response!.Status);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Admins only" })).ToBeVisibleAsync();
            await Expect(page.Locator("table")).ToHaveCountAsync(0);
        }

        await Screenshots.SaveAsync(page, "admin-forbidden");

        // A decision posted straight at the page is refused the same way, and changes nothing.
        var token = await page.Locator("input[name='__RequestVerificationToken']").First.GetAttributeAsync("value");
        var post = await page.APIRequest.PostAsync($"/admin/users/{userId}?handler=Deactivate", new()
        {
            Form = page.APIRequest.CreateFormData().Set("__RequestVerificationToken", token!),
        });
        Assert.Equal(403, post.Status);
        await page.GotoAsync("/account");
        await Expect(page).ToHaveURLAsync(new Regex("/account$"));
    }

    [Fact]
    public async Task A_ban_shows_the_ban_message_on_the_users_open_page_at_once_and_after_the_unban_they_sign_in_right_away()
    {
        var email = WebConsole.NewEmail("ban");
        await web.RegisterAsync(email, "Banned Soon");
        await using var userDevice = await web.NewDeviceAsync(WebConsole.Devices.MacFirefox);
        var userPage = await WebConsole.SignInAsync(userDevice, email);
        await WebConsole.OpenLiveAsync(userPage, "/account");

        // The admin works in Paris: the ban's end is typed in Paris time, stored as the same instant in UTC, and shown back
        // in Paris time with the zone named (and the UTC time on hover).
        await using var adminDevice = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome, timezone: "Europe/Paris");
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fusers");
        await admin.GetByLabel("Search").FillAsync(email);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await admin.GetByRole(AriaRole.Link, new() { Name = "Banned Soon" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Banned Soon");
        await Expect(admin.GetByRole(AriaRole.List, new() { Name = "Live sessions" }).GetByRole(AriaRole.Listitem)).ToHaveCountAsync(1);

        await admin.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        var dialog = admin.Locator("#confirm-ban");
        await Expect(dialog).ToContainTextAsync("will be signed out everywhere at once");
        await dialog.GetByLabel("Ban ends").FillAsync("2031-01-02T04:05");
        await dialog.GetByLabel("Reason").FillAsync("Spam in the forum");
        var clock = Stopwatch.StartNew();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();

        // The user's open page shows the ban at once, with its end.
        await Expect(userPage.Locator("#ended-message")).ToHaveTextAsync("Your account is banned until 2031-01-02 03:05 UTC.", Soon);
        Assert.True(clock.Elapsed < PushDeadline, $"The banned user's page took {clock.Elapsed.TotalMilliseconds:F0} ms to land on sign-in.");
        await Expect(userPage).ToHaveURLAsync(new Regex(@"/login\?ended=user_banned$"));
        await Screenshots.SaveAsync(userPage, "login-banned");

        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync(
            "Banned Soon was banned until 2031-01-02 04:05 (Europe/Paris) and signed out of 1 session.");
        var facts = admin.Locator(".facts");
        await Expect(facts).ToContainTextAsync("Banned until Jan 2, 2031, 4:05:00 AM GMT+1");
        await Expect(facts.Locator("dd", new() { HasText = "Banned until" }).Locator("time")).ToHaveAttributeAsync("title", "2031-01-02 03:05:00 UTC");
        await Expect(admin.Locator("label[for='ban-until']")).ToContainTextAsync("time in Europe/Paris");
        await Expect(facts).ToContainTextAsync("Spam in the forum");
        await Expect(admin.GetByText("No live sessions.")).ToBeVisibleAsync();
        await Expect(admin.Locator(".table-audit tbody tr[data-action='user.banned']")).ToContainTextAsync("Spam in the forum");
        await Screenshots.SaveAsync(admin, "admin-user");

        // Signing in is refused with the same words while the ban holds.
        await WebConsole.SubmitSignInAsync(userPage, email, TesseraWebServer.Password);
        await Expect(userPage.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your account is banned until 2031-01-02 03:05 UTC.");

        // Unbanned: the very next sign-in works.
        await admin.GetByRole(AriaRole.Button, new() { Name = "Unban" }).ClickAsync();
        await admin.Locator("#confirm-unban").GetByRole(AriaRole.Button, new() { Name = "Unban" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("Banned Soon was unbanned and can sign in again.");
        await WebConsole.SubmitSignInAsync(userPage, email, TesseraWebServer.Password);
        await Expect(userPage).ToHaveURLAsync(new Regex("/account$"));
    }

    [Fact]
    public async Task Bulk_deactivation_of_several_users_shows_its_progress_and_ends_their_sessions_at_once()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var emails = new List<string>();
        for (var i = 1; i <= 3; i++)
        {
            var email = WebConsole.NewEmail($"bulk{i}");
            await web.RegisterAsync(email, $"Bulk {tag} {i}");
            emails.Add(email);
        }

        await using var userDevice = await web.NewDeviceAsync(WebConsole.Devices.IPhoneSafari);
        var userPage = await WebConsole.SignInAsync(userDevice, emails[1]);
        await WebConsole.OpenLiveAsync(userPage, "/account/sessions");

        await using var adminDevice = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%3Fq%3D{tag}");
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(3);
        await admin.GetByLabel("Select all users on this page").CheckAsync();
        await Expect(admin.Locator("#bulk-count")).ToHaveTextAsync("3 users selected");
        await admin.GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("deactivate");
        await admin.GetByLabel("Reason").FillAsync("Left the company");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Apply to selected" }).ClickAsync();

        var dialog = admin.GetByRole(AriaRole.Dialog, new() { Name = "Deactivate 3 users?" });
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog).ToContainTextAsync("They are signed out everywhere at once and cannot sign in until an admin reactivates them.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Deactivate 3 users" }).ClickAsync();

        await Expect(dialog.GetByRole(AriaRole.Status)).ToHaveTextAsync("Done: 3 users deactivated.");
        await Expect(dialog.Locator("progress")).ToHaveAttributeAsync("max", "3");
        Assert.Equal(3, await dialog.Locator("progress").EvaluateAsync<int>("p => p.value"));
        await Screenshots.SaveAsync(admin, "admin-bulk-done", fullPage: false);
        await Expect(userPage.Locator("#ended-message")).ToHaveTextAsync("Your account has been deactivated.", Soon);

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await Expect(admin.Locator("tbody tr .status-cell")).ToHaveTextAsync(["Deactivated", "Deactivated", "Deactivated"]);
        await admin.GotoAsync($"/admin/users?q={tag}&status=active");
        await Expect(admin.Locator("tbody")).ToContainTextAsync("No users match.");
        await admin.GotoAsync($"/admin/users?q={tag}&status=deactivated");
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(3);

        await WebConsole.SubmitSignInAsync(userPage, emails[1], TesseraWebServer.Password);
        await Expect(userPage.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your account has been deactivated.");
    }

    [Fact]
    public async Task Admins_are_not_offered_actions_on_their_own_account_and_bulk_refusals_are_named()
    {
        // An email a search for "admin" finds beside the bootstrap admin's own.
        var tag = Guid.NewGuid().ToString("N")[..8];
        var otherEmail = $"admin-{tag}@example.com";
        await web.RegisterAsync(otherEmail, $"Beside {tag}");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fusers");

        // From the user page: the core's refusal, in its words.
        await admin.GotoAsync($"/admin/users?q={Uri.EscapeDataString(TesseraWebServer.AdminEmail)}");
        await Expect(admin.Locator("tbody tr")).ToContainTextAsync("You");
        await admin.GetByRole(AriaRole.Link, new() { Name = "Administrator" }).ClickAsync();
        await Expect(admin.GetByText("This is your own account.")).ToBeVisibleAsync();
        // Not offered at all, rather than offered and then refused.
        foreach (var action in new[] { "Deactivate", "Ban", "Delete" })
        {
            await Expect(admin.GetByRole(AriaRole.Button, new() { Name = action, Exact = true })).ToHaveCountAsync(0);
        }

        await Expect(admin.Locator(".facts")).ToContainTextAsync("Active");

        // In bulk: the other user is done; the admin's own row is refused, and named.
        await admin.GotoAsync("/admin/users?q=admin");
        await admin.GetByLabel($"Select {TesseraWebServer.AdminEmail}").CheckAsync();
        await admin.GetByLabel($"Select {otherEmail}").CheckAsync();
        await Expect(admin.Locator("#bulk-count")).ToHaveTextAsync("2 users selected");
        await admin.GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("ban");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Apply to selected" }).ClickAsync();
        var dialog = admin.GetByRole(AriaRole.Dialog, new() { Name = "Ban 2 users?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Ban 2 users" }).ClickAsync();

        await Expect(dialog.GetByRole(AriaRole.Status)).ToHaveTextAsync("Done: 1 user banned, 1 not changed.");
        await Expect(dialog.GetByRole(AriaRole.Listitem)).ToHaveTextAsync($"{TesseraWebServer.AdminEmail}: Admins cannot do this to their own account.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await Expect(admin.Locator($"tr[data-label='{otherEmail}'] .status-cell")).ToContainTextAsync("Banned");
        await Expect(admin.Locator($"tr[data-label='{TesseraWebServer.AdminEmail}'] .status-cell")).Not.ToContainTextAsync("Banned");
    }

    [Fact]
    public async Task An_admin_ends_one_session_or_all_sessions_of_a_user_from_the_user_page()
    {
        var email = WebConsole.NewEmail("ends");
        var userId = await web.RegisterAsync(email, "Many Sessions");
        await web.Server.LoginAsync(email, userAgent: WebConsole.Devices.IPhoneSafari);
        await web.Server.LoginAsync(email, userAgent: WebConsole.Devices.MacFirefox);
        await using var userDevice = await web.NewDeviceAsync(WebConsole.Devices.WindowsChrome);
        var userPage = await WebConsole.SignInAsync(userDevice, email);
        await WebConsole.OpenLiveAsync(userPage, "/account/sessions");

        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%2F{userId}");
        var sessions = admin.GetByRole(AriaRole.List, new() { Name = "Live sessions" }).GetByRole(AriaRole.Listitem);
        await Expect(sessions).ToHaveCountAsync(3);

        await admin.GetByRole(AriaRole.Button, new() { Name = "End the session on Mobile Safari on iOS" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("The session was ended.");
        await Expect(sessions).ToHaveCountAsync(2);
        await Expect(admin.GetByRole(AriaRole.List, new() { Name = "Live sessions" })).Not.ToContainTextAsync("iOS");

        await admin.GetByRole(AriaRole.Button, new() { Name = "End all sessions" }).ClickAsync();
        var dialog = admin.GetByRole(AriaRole.Dialog, new() { Name = "End all sessions of Many Sessions?" });
        await Expect(dialog).ToContainTextAsync("The account stays active: they can sign in again.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "End all sessions" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("Ended 2 sessions.");
        await Expect(admin.GetByText("No live sessions.")).ToBeVisibleAsync();
        await Expect(userPage.Locator("#ended-message")).ToHaveTextAsync("An administrator ended your session.", Soon);

        // Not banned, not deactivated: they sign in again at once.
        await WebConsole.SubmitSignInAsync(userPage, email, TesseraWebServer.Password);
        await Expect(userPage).ToHaveURLAsync(new Regex("/account/sessions$"));
    }

    [Fact]
    public async Task Deactivating_reactivating_and_deleting_each_ask_first_and_hold_at_once()
    {
        var email = WebConsole.NewEmail("cycle");
        var userId = await web.RegisterAsync(email, "Life Cycle");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%2F{userId}");
        await using var userDevice = await web.NewDeviceAsync();
        var userPage = await WebConsole.SignInAsync(userDevice, email);
        await WebConsole.OpenLiveAsync(userPage, "/account");

        await admin.ReloadAsync();
        await admin.GetByRole(AriaRole.Button, new() { Name = "Deactivate" }).ClickAsync();
        var deactivate = admin.GetByRole(AriaRole.Dialog, new() { Name = "Deactivate Life Cycle?" });
        await Expect(deactivate).ToContainTextAsync("cannot sign in until an admin reactivates the account");
        await deactivate.GetByLabel("Reason").FillAsync("Left the company");
        await deactivate.GetByRole(AriaRole.Button, new() { Name = "Deactivate" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("Life Cycle was deactivated and signed out of 1 session.");
        await Expect(admin.Locator(".table-audit tbody tr[data-action='user.deactivated']")).ToContainTextAsync("Left the company");
        await Expect(userPage.Locator("#ended-message")).ToHaveTextAsync("Your account has been deactivated.", Soon);

        await admin.GetByRole(AriaRole.Button, new() { Name = "Reactivate" }).ClickAsync();
        await admin.GetByRole(AriaRole.Dialog, new() { Name = "Reactivate Life Cycle?" }).GetByRole(AriaRole.Button, new() { Name = "Reactivate" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("Life Cycle was reactivated and can sign in again.");
        await WebConsole.SubmitSignInAsync(userPage, email, TesseraWebServer.Password);
        await Expect(userPage).ToHaveURLAsync(new Regex("/account$"));
        await WebConsole.WaitLiveAsync(userPage);

        await admin.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        var delete = admin.GetByRole(AriaRole.Dialog, new() { Name = "Delete Life Cycle?" });
        await Expect(delete).ToContainTextAsync("This cannot be undone.");
        await delete.GetByRole(AriaRole.Button, new() { Name = "Delete account" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("The account was deleted and 1 session was ended.");
        await Expect(admin.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Deleted user");
        await Expect(userPage.Locator("#ended-message")).ToHaveTextAsync("Your account has been deleted.", Soon);
        await WebConsole.SubmitSignInAsync(userPage, email, TesseraWebServer.Password);
        await Expect(userPage.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");
    }

    [Fact]
    public async Task The_users_table_searches_filters_by_status_and_pages()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        string? firstId = null;
        for (var i = 1; i <= 23; i++)
        {
            var id = await web.RegisterAsync(WebConsole.NewEmail($"page{i}"), $"Paged {tag} {i:D2}");
            firstId ??= id;
        }

        await web.Server.AdminPostAsync($"/v1/admin/users/{firstId}/deactivate");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fusers");

        await admin.GetByLabel("Search").FillAsync(tag);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Expect(admin.Locator(".lead")).ToHaveTextAsync("23 users match");
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(20);
        await Expect(admin.GetByRole(AriaRole.Navigation, new() { Name = "Pages" })).ToContainTextAsync("Page 1 of 2");
        await admin.GetByRole(AriaRole.Link, new() { Name = "Next" }).ClickAsync();
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(admin).ToHaveURLAsync(new Regex($@"/admin/users\?q={tag}&page=2$"));
        await admin.GetByRole(AriaRole.Link, new() { Name = "Previous" }).ClickAsync();
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(20);

        await admin.GetByLabel("Status").SelectOptionAsync("deactivated");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Expect(admin.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(admin.Locator("tbody tr")).ToContainTextAsync($"Paged {tag} 01");
        await Expect(admin.Locator("tbody tr .status-cell")).ToHaveTextAsync("Deactivated");
    }

    [Fact]
    public async Task The_audit_page_shows_what_happened_filtered_by_user_action_and_time()
    {
        var email = WebConsole.NewEmail("audited");
        await web.RegisterAsync(email, "Audited Person");
        await using var userDevice = await web.NewDeviceAsync();
        await WebConsole.SignInAsync(userDevice, email);
        // The failed sign-in from another browser. On the signed-in one, /login leads to /account, whose watcher, if its
        // stream is still connecting when the cookie is cleared, finds no session and goes to /login by itself
        // (tessera.js), racing a navigation of the test's own: "interrupted by another navigation", once, under load.
        await using var otherDevice = await web.NewDeviceAsync();
        var otherPage = await otherDevice.NewPageAsync();
        await otherPage.GotoAsync("/login");
        await WebConsole.SubmitSignInAsync(otherPage, email, "not-the-password-1");
        await Expect(otherPage.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");

        await using var adminDevice = await web.NewDeviceAsync(timezone: "America/New_York");
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Fusers");
        await admin.GetByLabel("Search").FillAsync(email);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await admin.GetByRole(AriaRole.Link, new() { Name = "Audited Person" }).ClickAsync();
        await admin.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        await admin.Locator("#confirm-ban").GetByLabel("Reason").FillAsync("Abusive messages");
        await admin.Locator("#confirm-ban").GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToContainTextAsync("was banned until unbanned");

        // Everything about the user, newest first, by email.
        await admin.GotoAsync("/admin/audit");
        await admin.GetByLabel("User").FillAsync(email);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        var rows = admin.Locator(".table-audit tbody tr");
        await Expect(rows).ToHaveCountAsync(5);
        // Newest first; the ban and the session it ended share one transaction and one time, so their order is open.
        var actions = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.action)");
        Assert.Equal(["session.revoked", "user.banned"], actions[..2].Order(StringComparer.Ordinal));
        Assert.Equal(["login.failed", "session.created", "user.registered"], actions[2..]);
        var ban = admin.Locator(".table-audit tbody tr[data-action='user.banned']");
        await Expect(ban).ToContainTextAsync("Admin");
        await Expect(ban).ToContainTextAsync(TesseraWebServer.AdminEmail);
        await Expect(ban).ToContainTextAsync(email);
        await Expect(ban).ToContainTextAsync("Abusive messages");
        await Expect(admin.Locator(".table-audit tbody tr[data-action='session.revoked']")).ToContainTextAsync("user_banned");
        await Screenshots.SaveAsync(admin, "admin-audit");

        // By action.
        await admin.GetByLabel("Action", new() { Exact = true }).SelectOptionAsync("user.banned");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(admin).ToHaveURLAsync(new Regex(@"action=user\.banned"));

        // By time, typed in the admin's local time (New York): nothing after tomorrow, everything since yesterday.
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await admin.GetByLabel("From").FillAsync(tomorrow);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(admin.GetByText("No events.")).ToBeVisibleAsync();
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await admin.GetByLabel("From").FillAsync(yesterday);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(admin).ToHaveURLAsync(new Regex(@"afterUtc=\d{4}-\d{2}-\d{2}T"));

        // An email nobody has is said plainly.
        var nobody = WebConsole.NewEmail("nobody");
        await admin.GotoAsync("/admin/audit?user=" + Uri.EscapeDataString(nobody));
        await Expect(admin.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"No user’s email, name or id matches “{nobody}”.");
    }

    [Fact]
    public async Task The_users_list_starts_with_the_newest_and_sorts_by_name_or_email()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        await web.RegisterAsync($"m-{tag}@example.com", $"Zoe {tag}");
        await web.RegisterAsync($"z-{tag}@example.com", $"adam {tag}");
        await web.RegisterAsync($"a-{tag}@example.com", $"Mia {tag}");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%3Fq%3D{tag}");
        var names = admin.Locator("tbody .user-link");

        await Expect(names).ToHaveTextAsync([$"Mia {tag}", $"adam {tag}", $"Zoe {tag}"]);
        await Expect(admin.GetByLabel("Order")).ToHaveValueAsync("newest");

        await admin.GetByLabel("Order").SelectOptionAsync("name");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Expect(names).ToHaveTextAsync([$"adam {tag}", $"Mia {tag}", $"Zoe {tag}"]);
        await Expect(admin).ToHaveURLAsync(new Regex("sort=name"));

        await admin.GetByLabel("Order").SelectOptionAsync("email");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Expect(names).ToHaveTextAsync([$"Mia {tag}", $"Zoe {tag}", $"adam {tag}"]);

        await admin.GetByLabel("Order").SelectOptionAsync("oldest");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await Expect(names).ToHaveTextAsync([$"Zoe {tag}", $"adam {tag}", $"Mia {tag}"]);
    }

    [Fact]
    public async Task The_audit_user_filter_finds_a_user_by_part_of_the_email_and_offers_a_choice_when_several_match()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var one = $"member12-{tag}@example.com";
        await web.RegisterAsync(one, "Member Twelve");
        await web.RegisterAsync($"member13-{tag}@example.com", "Member Thirteen");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, "/login?returnUrl=%2Fadmin%2Faudit");

        await admin.GetByLabel("User").FillAsync($"member12-{tag}");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(admin.Locator(".table-audit tbody tr[data-action='user.registered']")).ToContainTextAsync(one);
        await Expect(admin.Locator(".table-audit tbody tr")).ToHaveCountAsync(1);

        await admin.GetByLabel("User").FillAsync(tag);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"Several users match “{tag}”: choose one.");
        var choices = admin.GetByRole(AriaRole.List, new() { Name = "Matching users" }).GetByRole(AriaRole.Link);
        await Expect(choices).ToHaveCountAsync(2);
        await choices.First.ClickAsync();
        await Expect(admin.Locator(".table-audit tbody tr")).ToHaveCountAsync(1);
        await Expect(admin.Locator(".table-audit tbody tr")).ToContainTextAsync(one);

        await admin.GotoAsync("/admin/audit?user=nobody-" + tag);
        await Expect(admin.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"No user’s email, name or id matches “nobody-{tag}”.");
    }

    [Fact]
    public async Task A_ban_end_in_the_past_is_refused_in_the_words_of_the_dialog_which_opens_again_with_what_was_typed()
    {
        var userId = await web.RegisterAsync(WebConsole.NewEmail("pastban"), "Past Ban");
        await using var adminDevice = await web.NewDeviceAsync();
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword, $"/login?returnUrl=%2Fadmin%2Fusers%2F{userId}");

        await admin.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        var dialog = admin.Locator("#confirm-ban");
        await dialog.GetByLabel("Ban ends").FillAsync("2020-01-02T03:04");
        await dialog.GetByLabel("Reason").FillAsync("Spam, again");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();

        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog.GetByRole(AriaRole.Alert)).ToHaveTextAsync(
            "“Ban ends” must be a time in the future. Choose a later time, or leave it empty for a ban until an admin unbans the account.");
        await Expect(dialog.GetByLabel("Reason")).ToHaveValueAsync("Spam, again");
        await Expect(dialog.GetByLabel("Ban ends")).ToHaveValueAsync("2020-01-02T03:04");

        await dialog.GetByLabel("Ban ends").FillAsync(string.Empty);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Status)).ToHaveTextAsync("Past Ban was banned until unbanned and signed out of 0 sessions.");
        await Expect(admin.Locator(".table-audit tbody tr[data-action='user.banned']")).ToContainTextAsync("Spam, again");
    }

    [Fact]
    public async Task A_right_to_left_override_in_a_name_neither_reverses_it_nor_the_words_around_it()
    {
        // U+202E (right-to-left override) with no end: left alone, it shows "evil Mallory" as "yrollaM live" and reverses
        // everything after it on the line.
        await using var adminDevice = await web.NewDeviceAsync();
        var (admin, _) = await FindUserNamedInDatabaseAsync(adminDevice, "\u202Eevil Mallory");

        var link = admin.Locator("tbody .user-link");
        Assert.True(await ReadsLeftToRightAsync(link), "The name in the users list is shown reversed.");

        await link.ClickAsync();
        Assert.True(await ReadsLeftToRightAsync(admin.Locator("h1 .name")), "The name in the heading is shown reversed.");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Ban", Exact = true }).ClickAsync();
        Assert.True(await EndsOnTheRightAsync(admin.Locator("#confirm-ban-title")), "The ban dialog's title is reordered by the name.");
        await admin.Locator("#confirm-ban").GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await admin.GetByRole(AriaRole.Button, new() { Name = "Deactivate", Exact = true }).ClickAsync();
        Assert.True(await EndsOnTheRightAsync(admin.Locator("#confirm-deactivate-title")), "The deactivate dialog's title is reordered by the name.");
    }

    [Fact]
    public async Task A_name_that_shows_nothing_is_replaced_by_the_email_so_the_link_has_a_name()
    {
        await using var adminDevice = await web.NewDeviceAsync();
        var (admin, email) = await FindUserNamedInDatabaseAsync(adminDevice, "\u200B\u200B\u200B");

        var link = admin.GetByRole(AriaRole.Link, new() { Name = email, Exact = true });
        await Expect(link).ToBeVisibleAsync();
        await link.ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(email);
    }

    [Theory]
    [InlineData(1280)]
    [InlineData(390)]
    public async Task A_long_name_without_spaces_wraps_instead_of_widening_the_page(int width)
    {
        var email = WebConsole.NewEmail("long");
        var name = string.Concat(Enumerable.Repeat("Wolfeschlegelsteinhausen", 5))[..100];
        var userId = await web.RegisterAsync(email, name);
        await using var adminDevice = await web.NewDeviceAsync(viewport: new ViewportSize { Width = width, Height = 900 });
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword,
            $"/login?returnUrl=%2Fadmin%2Fusers%3Fq%3D{Uri.EscapeDataString(email)}");

        Assert.True(await FitsAsync(admin), $"The users list is wider than {width} px.");
        var status = await admin.Locator("tbody tr").First.Locator(".status-cell").BoundingBoxAsync();
        Assert.True(status is not null && status.X + status.Width <= width, "The status column is pushed out of the table.");

        await admin.GotoAsync($"/admin/users/{userId}");
        await Expect(admin.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(name[..20]);
        Assert.True(await FitsAsync(admin), $"The user page is wider than {width} px.");
    }

    /// <summary>
    /// A user whose name is set straight in the database (the API refuses such names; rows from before the rule, or
    /// written in SQL, have them), found by email in the admin's users list. Returns the list page and the email.
    /// </summary>
    private async Task<(IPage Admin, string Email)> FindUserNamedInDatabaseAsync(IBrowserContext adminDevice, string displayName)
    {
        var email = WebConsole.NewEmail("named");
        var userId = await web.RegisterAsync(email, "Placeholder");
        await web.Server.SetDisplayNameInDatabaseAsync(userId, displayName);
        var admin = await WebConsole.SignInAsync(adminDevice, TesseraWebServer.AdminEmail, TesseraWebServer.AdminPassword,
            $"/login?returnUrl=%2Fadmin%2Fusers%3Fq%3D{Uri.EscapeDataString(email)}");
        return (admin, email);
    }

    private static Task<bool> FitsAsync(IPage page) =>
        page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= innerWidth");

    /// <summary>Whether the element's first letter is drawn left of its last, as left-to-right text is.</summary>
    private static Task<bool> ReadsLeftToRightAsync(ILocator element) =>
        element.EvaluateAsync<bool>("""
            el => {
              const text = el.firstChild;
              const letters = [...text.data.matchAll(/\p{L}/gu)].map(m => m.index);
              const at = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1); return r.getBoundingClientRect().left; };
              return letters.length > 1 && at(letters[0]) < at(letters[letters.length - 1]);
            }
            """);

    /// <summary>Whether the element's last character ("?") is drawn right of everything else in it.</summary>
    private static Task<bool> EndsOnTheRightAsync(ILocator element) =>
        element.EvaluateAsync<bool>("""
            el => {
              const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
              const rects = [];
              for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (let i = 0; i < node.length; i++) {
                  if (!node.data[i].trim()) continue;
                  const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
                  const box = r.getBoundingClientRect();
                  if (box.width > 0) rects.push(box.right);
                }
              }
              return rects.length > 1 && rects[rects.length - 1] >= Math.max(...rects);
            }
            """);
}
